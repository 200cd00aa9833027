"""Shared logic of the arxiv-embed pipeline and server: schema, text, encoders, index, metrics.

Modules that the torch-free server imports (schema, text, onnx_encoder, classifier, index, metrics, bundle,
atomic) must not import torch, sentence-transformers or scikit-learn at module level.
"""

__version__ = "0.1.0"
