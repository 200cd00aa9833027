"""The torch-free FastAPI server over the pipeline's ONNX encoder, classifier and FAISS index."""
