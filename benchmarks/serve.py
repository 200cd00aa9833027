"""Serving benchmark: the real app vs a torch/sentence-transformers baseline server, same /search, same load.

A bounded load generator on loopback sends real abstracts at concurrency 1, 8 and 32 and reports
requests/s, p50/p99 latency and errors for each server, and the app's throughput ratio to the baseline; then the
same load on the app's /embed (one abstract a request), the route a change to the server's middleware, limits
or batching would slow first.

    python -m benchmarks.serve            # needs models/ from `dvc repro`
    python -m benchmarks.serve --tiny     # a few requests, to check it still runs
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import numpy as np

from arxiv_embed.layout import LAYOUT
from benchmarks.common import real_papers, report
from tools.processes import start_server

Send = Callable[[httpx.AsyncClient, int], Awaitable[bool]]


async def drive(send: Send, concurrency: int, requests: int, time_limit: float) -> dict:
    """`concurrency` clients make `requests` calls of `send` in all (or stop at `time_limit` seconds), after a
    warm-up of three; `send(http, i)` makes request number i and says whether it succeeded."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    deadline = time.perf_counter() + time_limit

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        for i in counter:
            if time.perf_counter() > deadline:
                return
            start = time.perf_counter()
            try:
                ok = await send(http, i)
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - start)
            errors += not ok

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        for i in range(3):
            await send(http, i)
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
    }


ROUTES = {  # route -> the body of request i
    "search": lambda texts, i: {"text": texts[i % len(texts)], "k": 10},
    "embed": lambda texts, i: {"texts": [texts[i % len(texts)]]},
}


async def load(
    url: str, texts: list[str], concurrency: int, requests: int, time_limit: float, route: str = "search"
) -> dict:
    """`concurrency` clients send `requests` calls of `route` for real abstracts in all (or stop at `time_limit`)."""

    async def send(http: httpx.AsyncClient, i: int) -> bool:
        response = await http.post(f"{url}/{route}", json=ROUTES[route](texts, i))
        return response.status_code == 200

    return await drive(send, concurrency, requests, time_limit)


def measure(
    args: list[str],
    models_dir: Path,
    texts: list[str],
    levels: list[int],
    requests: int,
    route: str = "search",
    **env: str,
) -> dict:
    proc, url = start_server(args, models_dir, env)
    try:
        return {f"c{c}": asyncio.run(load(url, texts, c, requests, 120, route)) for c in levels}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--tiny", action="store_true", help="a handful of requests, to check the benchmark runs")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    requests = 6 if opts.tiny else opts.requests
    levels = [1, 2] if opts.tiny else opts.concurrency
    texts = [p["abstract"] for p in real_papers(200, seed=1)]
    apps = {
        f"app_{variant}": measure(
            ["-m", "serve"], opts.models, texts, levels, requests, ARXIV_EMBED_ONNX_VARIANT=variant
        )
        for variant in ("fp32", "int8")
    }
    baseline = measure(["-m", "benchmarks.baseline_server"], opts.models, texts, levels, requests)
    embed = {
        f"app_{variant}": measure(
            ["-m", "serve"], opts.models, texts, levels, requests, "embed", ARXIV_EMBED_ONNX_VARIANT=variant
        )
        for variant in ("fp32", "int8")
    }
    result = {
        "benchmark": "serve /search",
        "requests_per_level": requests,
        **apps,
        "baseline_torch": baseline,
        "rps_ratio": {
            name: {level: round(app[level]["rps"] / baseline[level]["rps"], 2) for level in app}
            for name, app in apps.items()
        },
        "goal": {"rps_ratio": 3.0, "p99_ms_at_c8": 300, "errors": 0},
        "embed": embed,
    }
    report("serve", result, opts.out)


if __name__ == "__main__":
    main()
