"""What the benchmarks share: real papers from the shared sample, and one way to report a result."""

from __future__ import annotations

import gzip
import json
import os
import random
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from arxiv_embed.atomic import write_json
from arxiv_embed.machine import cpu_isa

SAMPLE_ENV = "ARXIV_SAMPLE"
DEFAULT_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv-papers.jsonl.gz"


def sample_path() -> Path:
    path = Path(os.environ.get(SAMPLE_ENV, DEFAULT_SAMPLE))
    if not path.is_file():
        raise SystemExit(f"error: real arXiv sample not found at {path}; set ARXIV_SAMPLE")
    return path


def real_papers(n: int, seed: int = 0) -> list[dict]:
    """`n` papers drawn uniformly from the sample (reservoir sampling, one pass)."""
    rng = random.Random(seed)
    chosen: list[dict] = []
    with gzip.open(sample_path(), "rt") as fh:
        for i, line in enumerate(fh):
            if len(chosen) < n:
                chosen.append(json.loads(line))
            elif (j := rng.randrange(i + 1)) < n:
                chosen[j] = json.loads(line)
    return chosen


def report(name: str, result: dict, out_dir: Path = Path("metrics")) -> None:
    """Print the result as one JSON object and keep it as metrics/bench_<name>.json, with the CPU it ran on."""
    result.setdefault("cpu", cpu_isa())
    write_json(out_dir / f"bench_{name}.json", result)
    print(json.dumps(result))


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float, still_starting: Callable[[], str | None]) -> None:
    """Poll `url` until it answers 200; `still_starting()` returns a reason to give up early (process died)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        problem = still_starting()
        if problem or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up: {problem or f'no answer in {timeout:.0f} s'}")
        time.sleep(0.3)
