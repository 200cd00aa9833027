"""Soak a running server: a fixed number of /search clients for a fixed time; errors, latency and the server's RSS.

    python -m benchmarks.soak --url http://127.0.0.1:8000 --pid "$(docker inspect -f '{{.State.Pid}}' NAME)"

The first `--warmup` seconds run at full concurrency and are not counted, so RSS growth compares a warm server at
the start of the measured window with the same server at its end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from arxiv_embed.layout import LAYOUT
from arxiv_embed.machine import memory_mb
from benchmarks.common import report
from benchmarks.http_load import load
from tools.sample import real_papers

GOAL = {"errors": 0, "rss_growth_pct": 5.0}
UNLIMITED = 10**9  # requests: the time limit ends the run


async def soak(url: str, pid: int, texts: list[str], concurrency: int, seconds: float, warmup: float) -> dict:
    await load(url, texts, concurrency, UNLIMITED, warmup)
    samples = [memory_mb(pid)["VmRSS"]]

    async def sample_rss() -> None:
        while True:
            await asyncio.sleep(1)
            samples.append(memory_mb(pid)["VmRSS"])

    sampler = asyncio.create_task(sample_rss())
    try:
        result = await load(url, texts, concurrency, UNLIMITED, seconds)
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    samples.append(memory_mb(pid)["VmRSS"])
    return {
        "benchmark": "soak /search",
        "concurrency": concurrency,
        "seconds": seconds,
        "warmup_seconds": warmup,
        **result,
        "rss_mb_start": round(samples[0], 1),
        "rss_mb_end": round(samples[-1], 1),
        "rss_mb_max": round(max(samples), 1),
        "rss_growth_pct": round(100 * (samples[-1] / samples[0] - 1), 2),
        "goal": GOAL,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, required=True, help="the server's process id, for its RSS")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    if not Path(f"/proc/{opts.pid}/status").is_file():
        raise SystemExit(f"error: no process {opts.pid} on this machine (the server's pid, seen from here)")
    texts = [p["abstract"] for p in real_papers(200, seed=1)]
    result = asyncio.run(soak(opts.url, opts.pid, texts, opts.concurrency, opts.seconds, opts.warmup))
    report("soak", result, opts.out)


if __name__ == "__main__":
    main()
