"""An in-process HTTP load loop (httpx, asyncio) for benchmarks that read each answer or interleave routes.

The speed comparisons between servers (`benchmarks.serve`, `benchmarks.peer`) use wrk in a process of its own
instead (`benchmarks/wrk.py`): a loop in the benchmark's process shares the CPU with the server it measures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import numpy as np

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
