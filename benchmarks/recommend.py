"""/recommend against /search on one bundle: latency at concurrency 1 and 8 for libraries of liked ids.

A reader's library here is 50 papers of the index given by id (so nothing is encoded), drawn per request from a
seeded sample; /search gets real abstracts, as in benchmarks/serve.py. The two routes alternate in rounds at each
concurrency, so that a slow spell of the machine falls on both; reports each round's p50/p99 and requests/s, their
medians, and /recommend's p99 over /search's: the median over the rounds and its range.

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
from benchmarks.wrk import medians, spread
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


def measure(url: str, liked: list[list[str]], texts: list[str], levels: list[int], requests: int, rounds: int) -> dict:
    """Each level: `rounds` rounds of /search, then /recommend, on the one running server."""
    return {f"c{c}": summary([one_round(url, liked, texts, c, requests) for _ in range(rounds)]) for c in levels}


def one_round(url: str, liked: list[list[str]], texts: list[str], concurrency: int, requests: int) -> dict:
    search = asyncio.run(load(url, texts, concurrency, requests, 300))
    recommend = asyncio.run(recommend_load(url, liked, concurrency, requests, 300))
    return {"search": search, "recommend": recommend, "p99_ratio": round(recommend["p99_ms"] / search["p99_ms"], 2)}


def summary(rounds: list[dict]) -> dict:
    """The rounds, and per route the median of each figure over them."""
    ratio = spread([r["p99_ratio"] for r in rounds])
    return {
        **{route: medians([r[route] for r in rounds]) for route in ("search", "recommend")},
        "p99_ratio": ratio["median"],
        "p99_ratio_range": [ratio["min"], ratio["max"]],
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.bundle)
    parser.add_argument("--requests", type=int, default=200, help="requests per route and concurrency level")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of both routes per concurrency level")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    requests, rounds = (6, 1) if opts.tiny else (opts.requests, opts.rounds)
    liked = libraries(opts.models, 20, LIBRARY)
    texts = [p["abstract"] for p in real_papers(100, seed=1)]
    proc, url = start_server(["-m", "serve"], opts.models, {})
    try:
        # the method the bundle serves a library of this shape (what every request below is ranked by)
        method = httpx.post(f"{url}/recommend", json={"like": liked[0], "k": 10}, timeout=60).json()["method"]
        levels = measure(url, liked, texts, [1, 8], requests, rounds)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {
        "benchmark": "recommend",
        "method": method,
        "liked_ids_per_request": len(liked[0]),
        "requests_per_round": requests,
        "rounds": rounds,
        "levels": levels,
        "p99_ratio_to_search": {c: v["p99_ratio"] for c, v in levels.items()},
        "goal": {"p99_ratio_to_search_at_c8": 2.0},
    }
    report("recommend", result, opts.out)


if __name__ == "__main__":
    main()
