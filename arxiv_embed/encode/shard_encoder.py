"""Encoding one harvest shard with the served graphs: what embed_harvest writes under data/updates/<shard>/."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.harvest import SHARD_INFO, SHARD_PAPERS, SHARD_VECTORS
from arxiv_embed.data.text import build_texts
from arxiv_embed.data.vectors import save_vectors
from arxiv_embed.encode.onnx_encoder import MODEL_FILES, OnnxEncoder
from arxiv_embed.hashing import sha256


def embed_shard(rows: pd.DataFrame, graphs: Path, variant: str, field: str, max_tokens: int, out: Path) -> dict:
    """Write the shard's rows (deletions included), its papers' vectors row for row, and which graph made them."""
    live = rows[~rows["deleted"]]
    encoder = OnnxEncoder(graphs, variant, max_tokens=max_tokens)
    vectors = encoder.encode(build_texts(live["title"], live["abstract"], field), progress=True)
    info = {
        "encoder": sha256(graphs / MODEL_FILES[variant]),
        "onnx_variant": variant,
        "papers": len(live),
        "deleted": int(rows["deleted"].sum()),
        "newest_datestamp": rows["datestamp"].max(),
    }
    with atomic_path(out, is_dir=True) as tmp:
        rows.to_parquet(tmp / SHARD_PAPERS, index=False)
        save_vectors(tmp / SHARD_VECTORS, live["id"].tolist(), vectors)
        (tmp / SHARD_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return info
