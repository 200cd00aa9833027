"""The `embed` params section, shared by the corpus's embed stage and each harvest shard's embed_harvest stage."""

from __future__ import annotations

from typing import Literal

from arxiv_embed.encode.ray_engine import RayConfig
from arxiv_embed.params import Count, params_section


@params_section
class EmbedConfig:
    """The `embed` section of params.yaml."""

    engine: Literal["local", "ray"]
    onnx_variant: Literal["fp32", "int8"]  # the ONNX graph that encodes the corpus on CPUs, and queries when served
    device: Literal["auto", "cpu", "cuda"]  # the local engine's; cuda: the torch encoder in bf16
    max_tokens: Count  # padded tokens per ONNX call on CPUs (texts sorted by length, cut at this budget)
    batch_size: Count  # texts per torch call on GPUs
    batch_rows: Count  # papers per unit of work (one Ray batch)
    ray: RayConfig
