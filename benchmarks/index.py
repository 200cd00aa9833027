"""Index benchmark: FAISS exact vs HNSW vs IVF vs IVF-PQ on real embeddings of the shared sample.

Reports, per index: build time, size in memory (serialised bytes), one-query-at-a-time latency and
recall@10 against exact search. Embeddings are computed once with the pipeline's int8 ONNX encoder and cached.

    python -m benchmarks.index           # the whole sample (~110k papers)
    python -m benchmarks.index --tiny    # 2,000 papers and 16-byte PQ codes, to check it still runs
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.shards import shard_name
from arxiv_embed.data.text import build_text
from arxiv_embed.data.vectors import vectors_table
from arxiv_embed.encode.onnx_encoder import MODEL_FILES, OnnxEncoder
from arxiv_embed.layout import LAYOUT, ModelFolders
from arxiv_embed.manifest import Manifest
from arxiv_embed.metrics import recall_at_k
from arxiv_embed.search.index import IndexConfig, VectorIndex, build_index, exact_index
from benchmarks.common import report
from tools.sample import sample_path

PQ_M = 64  # bytes per IVF-PQ code: the index stage's default
TINY_PQ_M = 16  # --tiny: FAISS trains 64 sub-quantisers on 2,000 vectors for a minute, 16 in seconds


def candidates(pq_m: int) -> dict[str, dict]:
    """The indexes compared, by name: their settings over `measure`'s defaults."""
    return {
        "flat": {},
        "hnsw_m32_ef64": {"type": "hnsw", "hnsw_m": 32, "hnsw_ef_search": 64},
        "hnsw_m32_ef128": {"type": "hnsw", "hnsw_m": 32, "hnsw_ef_search": 128},
        "ivf_nprobe16": {"type": "ivf", "ivf_nprobe": 16},
        "ivf_nprobe64": {"type": "ivf", "ivf_nprobe": 64},
        f"ivfpq{pq_m}_nprobe64": {"type": "ivfpq", "ivf_nprobe": 64, "pq_m": pq_m},
        f"ivfpq{pq_m}_nprobe64_rerank100": {"type": "ivfpq", "ivf_nprobe": 64, "pq_m": pq_m, "rerank": 100},
    }


def corpus_embeddings(models: Path, limit: int | None, cache_dir: Path, cached: Path | None) -> np.ndarray:
    """Embeddings of the sample's papers, cached by encoder hash and size (encoding 110k texts takes a while)."""
    if cached:
        return np.load(cached)
    folders = ModelFolders(models)
    manifest = Manifest.read(folders.manifest)
    key = manifest.files[folders.name_of(folders.served_onnx / MODEL_FILES["int8"])][:12]
    cache = cache_dir / f"sample_{key}_{limit or 'all'}.npy"
    if cache.is_file():
        return np.load(cache)
    with gzip.open(sample_path(), "rt") as fh:
        rows = [json.loads(line) for _, line in zip(range(limit or 10**9), fh, strict=False)]
    texts = [build_text(r["title"], r["abstract"], manifest.text_field) for r in rows]
    vectors = OnnxEncoder(folders.served_onnx, "int8").encode(texts, progress=True)
    with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
        np.save(fh, vectors)
    return vectors


def measure(overrides: dict, shards: Path, vectors: np.ndarray, queries: np.ndarray, exact_top: np.ndarray) -> dict:
    cfg = IndexConfig(
        **{
            "type": "flat",
            "hnsw_m": 32,
            "hnsw_ef_construction": 200,
            "hnsw_ef_search": 128,
            "ivf_nlist": int(4 * np.sqrt(len(vectors))),  # read by ivf and ivfpq only
            "ivf_nprobe": 16,
            "pq_m": PQ_M,
            "opq": False,
            "train_size": 200_000,
            "rerank": 0,
            "seed": 0,
            **overrides,
        }
    )
    with tempfile.TemporaryDirectory(prefix="bench-index-") as out:
        start = time.perf_counter()
        build_index(shards, cfg, Path(out))
        build = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(out).iterdir())
        index = VectorIndex(Path(out))
        start = time.perf_counter()
        found = np.vstack([index.search(q[None, :], 10)[1] for q in queries])
        per_query = (time.perf_counter() - start) / len(queries)
    recall = recall_at_k(found, exact_top, 10)
    return {
        "build_s": round(build, 2),
        "bytes": int(size),
        "query_ms": round(per_query * 1000, 3),
        "recall@10": round(float(recall), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N papers of the sample")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--cache", type=Path, default=LAYOUT.bench_work("index"))
    parser.add_argument("--embeddings", type=Path, help="a cached .npy of embeddings to use as they are")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    limit, n_queries, pq_m = (2000, 50, TINY_PQ_M) if opts.tiny else (opts.limit, opts.queries, PQ_M)
    vectors = corpus_embeddings(opts.models, limit, opts.cache, opts.embeddings)
    rng = np.random.default_rng(0)
    held_out = np.zeros(len(vectors), dtype=bool)
    held_out[rng.choice(len(vectors), size=min(n_queries, len(vectors) // 10), replace=False)] = True
    queries, vectors = vectors[held_out], vectors[~held_out]  # queries are papers the index does not hold
    _, exact_top = exact_index(vectors).search(queries, 10)
    with tempfile.TemporaryDirectory(prefix="bench-vectors-") as shards:
        pq.write_table(vectors_table([str(i) for i in range(len(vectors))], vectors), Path(shards) / shard_name(0))
        compared = candidates(pq_m)
        results = {name: measure(cfg, Path(shards), vectors, queries, exact_top) for name, cfg in compared.items()}
    flat_ms = results["flat"]["query_ms"]
    for row in results.values():
        row["speedup_vs_flat"] = round(flat_ms / row["query_ms"], 1)
    good = [n for n, r in results.items() if n != "flat" and r["recall@10"] >= 0.95]
    result = {
        "benchmark": "index",
        "papers": len(vectors),
        "queries": len(queries),
        "indexes": results,
        "best_with_recall_0.95": max(good, key=lambda n: results[n]["speedup_vs_flat"]) if good else None,
        "goal": {"recall@10": 0.95, "speedup_vs_flat": 5.0},
    }
    report("index", result, opts.out)


if __name__ == "__main__":
    main()
