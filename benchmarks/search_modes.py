"""Search-mode benchmark: lexical postings size and per-query latency of each mode, over the whole shared sample.

    python -m benchmarks.search_modes [--models models] [--queries 300] [--tiny]

The lexical index is built from every paper of the shared sample with the pipeline's served TF-IDF features
(models/classifier), exactly as the lexical_index stage builds it for the corpus. Dense search runs over a flat
index of the same size; its vectors are random unit vectors of the served dimension, since a flat search costs
the same whatever the vectors hold (encoding 109k texts on two cores would take 20 minutes and change no
timing). Latency is per query, one at a time, in this process (the server adds its HTTP and encoding time). The
2.5M-paper figures scale the measured bytes and latencies linearly with the number of papers, which is how
posting lists and a flat scan grow.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from tqdm.auto import tqdm

from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.text import build_text
from arxiv_embed.layout import LAYOUT, ModelFolders
from arxiv_embed.manifest import Manifest
from arxiv_embed.search.index import INDEX_CONFIG_FILE, INDEX_FILE, VectorIndex
from arxiv_embed.search.lexical import LEXICAL_FILES, write_postings
from arxiv_embed.search.modes import SEARCH_MODES, SearchSpec, load_searcher
from benchmarks.common import report
from tools.sample import sample_path

ALL_ARXIV = 2_550_000


def flat_index(folder: Path, n: int, dim: int) -> VectorIndex:
    rng = np.random.default_rng(0)
    index = faiss.IndexFlatIP(dim)
    for start in range(0, n, 50_000):
        block = rng.standard_normal((min(50_000, n - start), dim)).astype(np.float32)
        index.add(block / np.linalg.norm(block, axis=1, keepdims=True))
    faiss.write_index(index, str(folder / INDEX_FILE))
    (folder / INDEX_CONFIG_FILE).write_text(json.dumps({"type": "flat"}))
    return VectorIndex(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--tiny", action="store_true", help="2,000 papers and 20 queries (a test that it runs)")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    limit, queries = (2_000, 20) if opts.tiny else (None, opts.queries)
    models = ModelFolders(opts.models)
    features = TfidfFeatures.load(models.classifier)
    search_spec = SearchSpec.load(models.lexical)
    dim = Manifest.read(models.manifest).dim
    with gzip.open(sample_path(), "rt") as fh:
        rows = (json.loads(line) for _, line in zip(range(limit or 10**9), fh, strict=False))
        texts = [build_text(row["title"], row["abstract"]) for row in rows]
    with tempfile.TemporaryDirectory() as tmp:
        scratch = ModelFolders(Path(tmp))
        folder = scratch.served_index
        for made in (folder, scratch.lexical):
            made.mkdir()
        start = time.perf_counter()
        stats = write_postings((features.transform(t) for t in tqdm(texts, desc="tf-idf")), features.size, folder)
        build_seconds = time.perf_counter() - start
        sizes = {name: (folder / name).stat().st_size for name in LEXICAL_FILES}
        search_spec.save(scratch.lexical)
        searcher = load_searcher(scratch, flat_index(folder, len(texts), dim), features)
        rng = np.random.default_rng(1)
        picked = rng.choice(len(texts), queries, replace=False)
        vectors = rng.standard_normal((queries, dim)).astype(np.float32)
        latency = {}
        for mode in SEARCH_MODES:
            times = []
            for i, q in enumerate(picked):
                begin = time.perf_counter()
                searcher.run(mode, vectors[i : i + 1], [texts[q]], 11)
                times.append(time.perf_counter() - begin)
            ms = np.array(times) * 1000
            latency[mode] = {f"p{q}_ms": round(float(np.percentile(ms, q)), 2) for q in (50, 99)}
    papers = len(texts)
    total = sum(sizes.values())
    scale = ALL_ARXIV / papers
    report(
        "search_modes",
        {
            "papers": papers,
            "postings": stats["postings"],
            "terms": stats["terms"],
            "lexical_bytes": sizes,
            "lexical_bytes_per_paper": round(total / papers, 1),
            "flat_index_bytes": papers * dim * 4,
            "build_seconds": round(build_seconds, 1),
            "latency_one_query": latency,
            "fusion": vars(search_spec.fusion),
            "at_2_5m": {
                "lexical_gib": round(total * scale / 2**30, 2),
                "flat_index_gib": round(ALL_ARXIV * dim * 4 / 2**30, 2),
                "lexical_p50_ms": round(latency["lexical"]["p50_ms"] * scale, 1),
            },
        },
        opts.out,
    )


if __name__ == "__main__":
    main()
