"""The embed stage's work: the corpus through the configured engine (local or Ray Data), then each split's
vectors picked from the corpus's in one pass, and a record of the encoder that made them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from arxiv_embed.data.vectors import save_vectors, select_vectors
from arxiv_embed.device import resolve_device
from arxiv_embed.encode.corpus_encoder import EncoderSpec
from arxiv_embed.encode.embedding import embed_local
from arxiv_embed.encode.ray_engine import embed_ray
from arxiv_embed.encode.settings import EmbedConfig
from arxiv_embed.layout import Layout


def corpus_encoder(cfg: EmbedConfig, layout: Layout) -> EncoderSpec:
    """The exported ONNX graph on CPUs, torch in bf16 on GPUs; Ray actors get theirs from `embed.ray`."""
    models = layout.models
    spec = EncoderSpec(
        onnx_dir=str(models.exported_onnx),
        torch_dir=str(models.encoder),
        variant=cfg.onnx_variant,
        device="cpu",
        max_tokens=cfg.max_tokens,
        batch_size=cfg.batch_size,
    )
    if cfg.engine == "ray":
        return cfg.ray.actor_spec(spec)
    return replace(spec, device=resolve_device(cfg.device, "embed.device"))


def embed_corpus(cfg: EmbedConfig, spec: EncoderSpec, corpus: Path, out: Path, field: str) -> int:
    """Every corpus shard's (id, vector) shard into `out`; returns the papers embedded."""
    out.mkdir()
    if cfg.engine == "ray":
        return embed_ray(spec, corpus, out, field, cfg.batch_rows, cfg.ray)
    return embed_local(spec, corpus, out, field, cfg.batch_rows)


def write_split_vectors(layout: Layout, splits: Sequence[str], corpus_vectors: Path, out: Path) -> None:
    """Each split's vectors, in the split file's order, as `out/<split>.npz` (out becomes `layout.embeddings`)."""
    split_ids = {s: pd.read_parquet(layout.split(s), columns=["id"])["id"].to_numpy() for s in splits}
    vectors = select_vectors(corpus_vectors, np.concatenate(list(split_ids.values())))  # one pass over the corpus
    for split, ids in split_ids.items():
        save_vectors(out / layout.split_vectors(split).name, ids.tolist(), vectors[: len(ids)])
        vectors = vectors[len(ids) :]


def record_encoder(spec: EncoderSpec, path: Path) -> None:
    """Queries are served with the ONNX graph that encoded the corpus: the manifest stage reads this."""
    path.write_text(json.dumps({"onnx_variant": spec.variant, "encoder": spec.name}) + "\n")
