"""Stage embed: L2-normalised float32 vectors of the whole corpus, and of each split for the classifier.

`embed.engine`: `local` (this process) or `ray` (Ray Data actor pool, local or on a cluster via RAY_ADDRESS).
On CPUs the corpus is encoded with the served ONNX graph (`embed.onnx_variant`), on GPUs with torch in bf16.
"""

import json
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.subsample import SPLITS
from arxiv_embed.data.text import TextConfig
from arxiv_embed.device import resolve_device
from arxiv_embed.encode.corpus_encoder import EncoderSpec
from arxiv_embed.encode.embedding import embed_local
from arxiv_embed.encode.ray_engine import embed_ray
from arxiv_embed.encode.settings import EmbedConfig
from arxiv_embed.encode.vectors import save_vectors, select_vectors
from arxiv_embed.layout import (
    CORPUS_DIR,
    CORPUS_VECTORS_DIR,
    EMBEDDED_WITH_FILE,
    EMBEDDINGS_DIR,
    ENCODER_DIR,
    ONNX_DIR,
    split_path,
)
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    embed: EmbedConfig
    text: TextConfig


def main(params: Params) -> dict:
    cfg, field = params.embed, params.text.field
    spec = EncoderSpec(
        onnx_dir=str(ONNX_DIR),
        torch_dir=str(ENCODER_DIR),
        variant=cfg.onnx_variant,
        device="cpu",
        max_tokens=cfg.max_tokens,
        batch_size=cfg.batch_size,
    )
    spec = (
        cfg.ray.actor_spec(spec)
        if cfg.engine == "ray"
        else replace(spec, device=resolve_device(cfg.device, "embed.device"))
    )
    start = time.perf_counter()
    with atomic_path(EMBEDDINGS_DIR, is_dir=True) as tmp:
        out = tmp / CORPUS_VECTORS_DIR.name
        out.mkdir()
        if cfg.engine == "ray":
            papers = embed_ray(spec, CORPUS_DIR, out, field, cfg.batch_rows, cfg.ray)
        else:
            papers = embed_local(spec, CORPUS_DIR, out, field, cfg.batch_rows)
        seconds = time.perf_counter() - start
        split_ids = {s: pd.read_parquet(split_path(s), columns=["id"])["id"].to_numpy() for s in SPLITS}
        vectors = select_vectors(out, np.concatenate(list(split_ids.values())))  # one pass over the corpus
        for split, ids in split_ids.items():
            save_vectors(tmp / f"{split}.npz", ids.tolist(), vectors[: len(ids)])
            vectors = vectors[len(ids) :]
        # Queries are served with the ONNX graph the corpus was encoded with (the manifest reads this).
        embedded_with = {"onnx_variant": spec.variant, "encoder": spec.name}
        (tmp / EMBEDDED_WITH_FILE.name).write_text(json.dumps(embedded_with) + "\n")
    return {
        "engine": cfg.engine,
        "encoder": spec.name,
        "corpus_vectors": papers,
        "embed_seconds": round(seconds, 2),
        "papers_per_second": round(papers / seconds, 1),
    }


if __name__ == "__main__":
    run_stage("embed", main, Params)
