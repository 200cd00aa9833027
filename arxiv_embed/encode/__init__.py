"""Turning texts into vectors: ONNX export and encoder, the GPU torch encoder, local and Ray corpus embedding."""
