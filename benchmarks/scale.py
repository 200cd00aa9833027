"""Scale benchmark: an arXiv-sized (2.5M-vector) IVF-PQ index built, served and queried on this machine.

Encoding 2.5M papers on two CPU cores takes hours, so the corpus is **synthetic**, built from the real sample's
fine-tuned corpus vectors: each real vector plus copies of it with Gaussian noise (renormalised), as many as
reach `--size`. Queries are held-out **real** papers: their vectors are left out of the corpus, their abstracts
are sent as text to the real app (`python -m serve`), so latency includes encoding. The synthetic papers have no
text, so the bundle's lexical index is empty and `/search` runs in dense mode.

Reports: build time, bytes on disk, recall@10 against exact search, time to ready, server RSS, and p50/p99
`/search` and `/recommend` latency at concurrency 1 and 8, from wrk in a process of its own (`benchmarks/wrk.py`).

    python -m benchmarks.scale --pipeline .          # after a run whose corpus is the whole sample
    python -m benchmarks.scale --pipeline . --tiny   # 20k vectors, 16-byte codes, to check it still runs
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from arxiv_embed.bundle import make_manifest
from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.shards import shard_files, shard_name
from arxiv_embed.data.vectors import iter_vectors, vectors_table
from arxiv_embed.layout import LAYOUT, Layout, ModelFolders
from arxiv_embed.machine import memory_mb
from arxiv_embed.metrics import recall_at_k
from arxiv_embed.search.index import IndexConfig, VectorIndex, build_index, exact_top_k
from arxiv_embed.search.lexical import write_postings
from arxiv_embed.search.live_index import grow
from arxiv_embed.search.modes import Fusion, SearchSpec
from arxiv_embed.search.papers import PAPERS_FILE, write_papers
from benchmarks.common import report
from benchmarks.recommend import LIBRARY, libraries
from benchmarks.wrk import run_wrk, write_bodies, wrk_binary, wrk_version
from tools.processes import start_server

CHUNK = 100_000


def real_corpus(pipeline: Path) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Ids and vectors of the pipeline's corpus, and its papers (id, title, abstract, category) by id."""
    layout = Layout(pipeline)
    ids, vectors = zip(*iter_vectors(layout.adapted_corpus), strict=True)
    columns = ["id", "title", "abstract", "primary_category"]
    papers = pd.concat(pd.read_parquet(f, columns=columns) for f in shard_files(layout.corpus))
    return np.concatenate(ids), np.concatenate(vectors), papers.set_index("id")


def write_synthetic(base: np.ndarray, size: int, sigma: float, folder: Path, seed: int) -> tuple[np.ndarray, float]:
    """`size` vectors in shards: row i is base[i % n], with noise for every round after the first.

    Returns the source row of each vector (so each synthetic paper can borrow its source's title and category) and
    the mean cosine of a noisy copy to its source.
    """
    rng = np.random.default_rng(seed)
    sources = np.arange(size) % len(base)
    cosines = []
    for number, start in enumerate(tqdm(range(0, size, CHUNK), desc="synthetic vectors")):
        rows = np.arange(start, min(start + CHUNK, size))
        vectors = base[sources[rows]].copy()
        noisy = rows >= len(base)
        vectors[noisy] += rng.normal(0, sigma, size=(int(noisy.sum()), base.shape[1])).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        cosines.append(np.sum(vectors[noisy] * base[sources[rows[noisy]]], axis=1))
        pq.write_table(vectors_table([f"s{r}" for r in rows], vectors), folder / shard_name(number))
    return sources, float(np.concatenate(cosines).mean())


def measure_recall(index: VectorIndex, queries: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """recall@10 against the exact top 10, and milliseconds per query (queries searched one by one)."""
    start = time.perf_counter()
    found = np.vstack([index.search(q[None, :], 10)[1] for q in queries])
    per_query_ms = (time.perf_counter() - start) / len(queries) * 1000
    recall = recall_at_k(found, truth, 10)
    return recall, per_query_ms


def wrk_levels(url: str, route: str, bodies: list[dict], folder: Path, seconds: int) -> dict:
    """`route` at 1 and 8 clients from wrk, `bodies` in turn, after a warm-up at 8."""
    path = write_bodies(folder / f"{route}.jsonl", bodies)
    run_wrk(f"{url}/{route}", path, 8, max(1, seconds // 3))
    return {f"c{c}": run_wrk(f"{url}/{route}", path, c, seconds) for c in (1, 8)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", type=Path, default=Path("."), help="a repo after `dvc repro` (its corpus)")
    parser.add_argument("--size", type=int, default=2_500_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--sigma", type=float, default=0.02, help="noise per dimension of the synthetic copies")
    parser.add_argument("--nlist", type=int, default=4096)
    parser.add_argument("--nprobe", type=int, default=64)
    parser.add_argument("--pq-m", type=int, default=96)
    parser.add_argument("--opq", action="store_true")
    parser.add_argument("--rerank", type=int, default=100, help="0: serve the PQ codes alone")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per route and concurrency level")
    parser.add_argument("--work", type=Path, default=LAYOUT.bench_work("scale"))
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    wrk_binary()  # before minutes of building: no load generator, one line
    if opts.tiny:
        opts.size, opts.queries, opts.nlist, opts.pq_m, opts.seconds = 20_000, 50, 64, 16, 1

    ids, vectors, papers = real_corpus(opts.pipeline)
    rng = np.random.default_rng(0)
    held_out = np.zeros(len(ids), dtype=bool)
    held_out[rng.choice(len(ids), size=opts.queries, replace=False)] = True
    query_vectors, base, base_ids = vectors[held_out], vectors[~held_out], ids[~held_out]
    query_texts = papers.loc[ids[held_out], "abstract"].tolist()

    shutil.rmtree(opts.work, ignore_errors=True)
    shards, models = opts.work / "vectors", ModelFolders(opts.work / "models")
    base_dir, postings_dir = models.base_index, models.lexical
    for folder in (shards, base_dir, postings_dir):
        folder.mkdir(parents=True)
    start = time.perf_counter()
    sources, copy_cosine = write_synthetic(base, opts.size, opts.sigma, shards, seed=1)
    synth_seconds = time.perf_counter() - start

    cfg = IndexConfig(
        type="ivfpq", hnsw_m=32, hnsw_ef_construction=200, hnsw_ef_search=128, ivf_nlist=opts.nlist,
        ivf_nprobe=opts.nprobe, pq_m=opts.pq_m, opq=opts.opq, train_size=200_000, rerank=opts.rerank, seed=0,
    )  # fmt: skip
    start = time.perf_counter()
    index_ids, stats = build_index(shards, cfg, base_dir)
    build_seconds = time.perf_counter() - start
    source_ids = base_ids[sources[[int(i[1:]) for i in index_ids]]]
    meta = papers.loc[source_ids]
    write_papers(
        base_dir / PAPERS_FILE,
        zip(index_ids, meta["title"], meta["primary_category"], strict=True),
    )
    pipeline = Layout(opts.pipeline).models
    shutil.copytree(pipeline.served_onnx, models.served_onnx)
    if pipeline.openvino.is_dir():  # the int8 runtime chosen for this CPU, as a bundle serves it
        shutil.copytree(pipeline.openvino, models.openvino)
    shutil.copytree(pipeline.classifier, models.classifier)
    # Synthetic papers have no text of their own: an empty lexical index, and dense search as the default mode
    # (benchmarks/search_modes.py measures lexical and hybrid search over real texts).
    features = TfidfFeatures.load(models.classifier)
    no_terms = (np.zeros(0, np.int64), np.zeros(0, np.float32))
    write_postings((no_terms for _ in index_ids), features.size, postings_dir)  # a row per paper, all empty
    SearchSpec.of(Fusion(0.5, 60, 100), "dense").save(models.lexical)
    shutil.copytree(pipeline.recommend, models.recommend)  # the default run's recommendation method
    grow(base_dir, postings_dir, [], features, "title_abstract", models.served_index)  # the served (live) index
    make_manifest(models, "int8").write(models.manifest)
    sizes = {f.name: f.stat().st_size for f in sorted(models.served_index.iterdir())}

    start = time.perf_counter()
    truth = exact_top_k(shards, query_vectors, 10)
    exact_seconds = time.perf_counter() - start
    recall, search_ms = measure_recall(VectorIndex(models.served_index), query_vectors, truth)
    codes_only = measure_recall(VectorIndex(models.served_index, rerank=False), query_vectors, truth)[0]

    start = time.perf_counter()
    proc, url = start_server(["-m", "serve"], models.root, {})
    ready_seconds = time.perf_counter() - start
    try:
        rss_ready = memory_mb(proc.pid)
        latency = wrk_levels(url, "search", [{"text": t, "k": 10} for t in query_texts], opts.work, opts.seconds)
        liked = libraries(models.root, 20, LIBRARY)  # ids only: nothing to encode
        recommend = wrk_levels(url, "recommend", [{"like": ids, "k": 10} for ids in liked], opts.work, opts.seconds)
        rss_after = memory_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    index_bytes = sizes["index.faiss"] + sizes.get("vectors_f16.npy", 0)
    result = {
        "benchmark": "scale",
        "load_generator": wrk_version(),
        "corpus": {
            "vectors": opts.size,
            "synthetic": True,
            "real_vectors": int(len(base)),
            "noise_sigma_per_dim": opts.sigma,
            "mean_cosine_copy_to_source": round(copy_cosine, 4),
            "seconds_to_generate": round(synth_seconds, 1),
        },
        "queries": {"held_out_real_papers": int(len(query_vectors))},
        "index": {**{k: v for k, v in stats.items() if k != "config"}, "opq": opts.opq, "pq_m": opts.pq_m},
        "build_seconds": round(build_seconds, 1),
        "bytes_on_disk": sizes,
        "index_bytes": index_bytes,
        "recall@10_vs_exact": round(recall, 4),
        "recall@10_codes_only": round(codes_only, 4),
        "index_search_ms_per_query": round(search_ms, 3),
        "exact_search_seconds": round(exact_seconds, 1),
        "server": {
            "seconds_to_ready": round(ready_seconds, 2),
            "rss_mb_at_ready": rss_ready,
            "rss_mb_after_load": rss_after,
            "search": latency,
            "recommend_50_liked_ids": recommend,
        },
        "goal": {
            "recall@10": 0.95,
            "p99_ms_at_c8": 100,
            "recommend_p99_ms_at_c1": 150,
            "rss_mb": 1536,
            "seconds_to_ready": 10,
            "index_bytes": 400 * 2**20,
        },
    }
    report("scale", result, opts.out)


if __name__ == "__main__":
    main()
