"""The encoder that embeds the corpus: the served ONNX graph on CPUs, the torch encoder in bf16 on GPUs.

On CPUs the corpus is encoded by the very graph the server encodes queries with (`embed.onnx_variant`), so index
vectors and query vectors come from the same model file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Encode = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class EncoderSpec:
    """Everything an embedding worker needs to build its encoder; small and picklable for Ray actors."""

    onnx_dir: str
    torch_dir: str
    variant: str  # fp32 | int8: the ONNX model used on CPUs
    device: str  # cpu | cuda
    max_tokens: int  # per ONNX call
    batch_size: int  # texts per torch call
    threads: int = 0  # onnxruntime intra-op threads; 0 = every core

    @property
    def name(self) -> str:
        return f"onnx-{self.variant}" if self.device == "cpu" else "torch-bf16"


def load_encoder(spec: EncoderSpec) -> Encode:
    """A function from texts to L2-normalised float32 vectors."""
    if spec.device == "cpu":
        from arxiv_embed.encode.onnx_encoder import OnnxEncoder

        return OnnxEncoder(spec.onnx_dir, spec.variant, spec.threads, spec.max_tokens).encode

    from arxiv_embed.encode.torch_encoder import TorchCorpusEncoder

    return TorchCorpusEncoder(Path(spec.torch_dir), spec.device, spec.batch_size).encode
