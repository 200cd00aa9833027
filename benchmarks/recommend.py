"""/recommend against /search on one bundle: latency at concurrency 1 and 8 for libraries of liked ids.

A reader's library here is 50 papers of the index given by id (so nothing is encoded), drawn per request from a
seeded sample; /search gets real abstracts, as in benchmarks/serve.py. Reports p50/p99 and requests/s for each,
and /recommend's p99 over /search's at each concurrency.

    python -m benchmarks.recommend                      # models/bundle of `dvc repro`
    python -m benchmarks.recommend --tiny               # a few requests, to check it still runs
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import httpx
import numpy as np

from arxiv_embed.layout import LAYOUT, ModelFolders
from arxiv_embed.search.papers import PAPERS_FILE, PaperStore
from benchmarks.common import report
from benchmarks.http_load import drive, load
from tools.processes import start_server
from tools.sample import real_papers

LIBRARY = 50  # liked papers per request


def libraries(models: Path, count: int, size: int, seed: int = 0) -> list[list[str]]:
    """`count` libraries of `size` ids of the bundle's index, each drawn from one seeded sample."""
    ids = PaperStore(ModelFolders(models).served_index / PAPERS_FILE).column("id")
    rng = np.random.default_rng(seed)
    return [rng.choice(ids, min(size, len(ids)), replace=False).tolist() for _ in range(count)]


async def recommend_load(url: str, liked: list[list[str]], concurrency: int, requests: int, limit: float) -> dict:
    async def send(http: httpx.AsyncClient, i: int) -> bool:
        response = await http.post(f"{url}/recommend", json={"like": liked[i % len(liked)], "k": 10})
        return response.status_code == 200

    return await drive(send, concurrency, requests, limit)


def measure(url: str, liked: list[list[str]], texts: list[str], levels: list[int], requests: int) -> dict:
    """Each level: /search, then /recommend, on the one running server."""
    return {
        f"c{c}": {
            "search": asyncio.run(load(url, texts, c, requests, 300)),
            "recommend": asyncio.run(recommend_load(url, liked, c, requests, 300)),
        }
        for c in levels
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.bundle)
    parser.add_argument("--requests", type=int, default=200, help="requests per route and concurrency level")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    requests = 6 if opts.tiny else opts.requests
    liked = libraries(opts.models, 20, LIBRARY)
    texts = [p["abstract"] for p in real_papers(100, seed=1)]
    proc, url = start_server(["-m", "serve"], opts.models, {})
    try:
        # the method the bundle serves a library of this shape (what every request below is ranked by)
        method = httpx.post(f"{url}/recommend", json={"like": liked[0], "k": 10}, timeout=60).json()["method"]
        levels = measure(url, liked, texts, [1, 8], requests)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {
        "benchmark": "recommend",
        "method": method,
        "liked_ids_per_request": len(liked[0]),
        "requests_per_level": requests,
        "levels": levels,
        "p99_ratio_to_search": {
            c: round(v["recommend"]["p99_ms"] / v["search"]["p99_ms"], 2) for c, v in levels.items()
        },
        "goal": {"p99_ratio_to_search_at_c8": 2.0},
    }
    report("recommend", result, opts.out)


if __name__ == "__main__":
    main()
