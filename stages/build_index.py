"""Stage build_index: a FAISS index over the embeddings of all splits, with the papers' metadata."""

import time

import numpy as np
import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.index import INDEX_FILE, PAPERS_FILE, IndexConfig, build_index, save_index
from arxiv_embed.layout import MODELS_DIR, embeddings_path, split_path
from arxiv_embed.params import section
from arxiv_embed.stage import run_stage
from arxiv_embed.subsample import SPLITS
from arxiv_embed.vectors import load_vectors


def main(params: dict) -> dict:
    cfg = section(params, "index", IndexConfig)
    ids, vectors = zip(*(load_vectors(embeddings_path(s)) for s in SPLITS), strict=True)
    ids, vectors = np.concatenate(ids), np.concatenate(vectors)
    papers = pd.concat([pd.read_parquet(split_path(s)) for s in SPLITS]).set_index("id").loc[ids].reset_index()
    start = time.perf_counter()
    index = build_index(vectors, cfg)
    build_seconds = time.perf_counter() - start
    with atomic_path(MODELS_DIR / "index", is_dir=True) as tmp:
        save_index(index, tmp / INDEX_FILE)
        papers[["id", "title", "primary_category"]].to_parquet(tmp / PAPERS_FILE, index=False)
    return {"type": cfg.type, "size": int(index.ntotal), "dim": int(index.d), "build_seconds": round(build_seconds, 3)}


if __name__ == "__main__":
    run_stage("index", main)
