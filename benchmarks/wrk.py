"""Load from wrk, the HTTP benchmarking tool, in a process of its own, and servers measured in interleaved rounds.

A Lua script makes every request a POST of the next body of a file (one JSON body a line, sent in turn), so each
server gets the same bodies in the same order, and prints wrk's own counts and latency percentiles as one JSON line
when the run ends. wrk is event-driven: one thread keeps the connections busy and leaves the cores to the server
it measures. Servers are started, measured and stopped in turns, A, B, A, B, ..., so that a slow spell of a shared
machine falls on all of them; each figure is the median of the rounds, with its spread (lowest, highest).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SCRIPT = """
local bodies = {}
for line in io.lines(os.getenv("ARXIV_EMBED_WRK_BODIES")) do bodies[#bodies + 1] = line end
local sent = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, bodies[(sent - 1) % #bodies + 1])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
INSTALL = "apt-get install wrk (Debian, Ubuntu), brew install wrk (macOS)"


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise SystemExit(f"error: wrk, the load generator, is not on PATH: {INSTALL}")
    return found


def wrk_version() -> str:
    """What `wrk --version` names itself, e.g. `wrk debian/4.1.0-3+b2`."""
    shown = subprocess.run([wrk_binary(), "--version"], capture_output=True, text=True)
    return " ".join((shown.stdout or shown.stderr).split()[:2])


def write_bodies(path: Path, bodies: list[dict]) -> Path:
    """The request bodies, one JSON object a line, as the script reads them."""
    path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
    return path


def run_wrk(url: str, bodies: Path, connections: int, seconds: int) -> dict:
    """`connections` clients POST `bodies` in turn to `url` for `seconds`: requests, errors (refused, broken, timed
    out or not 2xx/3xx), requests/s, p50 and p99 latency in ms, as wrk measures them."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="arxiv-embed-wrk-") as script:
        script.write(SCRIPT)
        script.flush()
        command = [wrk_binary(), "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "-s", script.name]
        env = {**os.environ, "ARXIV_EMBED_WRK_BODIES": str(bodies)}
        done = subprocess.run([*command, url], capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"error: wrk against {url} failed: {(done.stderr or done.stdout).strip()[-1000:]}")
    raw = json.loads(lines[-1])
    return {
        "requests": raw["requests"],
        "errors": raw["errors"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 2),
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
    }


Start = Callable[[], "tuple[subprocess.Popen, str]"]  # starts a server, returns it and its base URL


@contextmanager
def serving(start: Start) -> Iterator[str]:
    proc, url = start()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass(frozen=True)
class Server:
    start: Start
    measure: Callable[[str, int], dict]  # (base URL, round) -> this round's figures


def interleaved(servers: dict[str, Server], rounds: int) -> dict[str, list[dict]]:
    """Each server's figures, round by round: every round starts, measures and stops each server in turn."""
    found: dict[str, list[dict]] = {name: [] for name in servers}
    for number in range(rounds):
        for name, server in servers.items():
            with serving(server.start) as url:
                found[name].append(server.measure(url, number))
    return found


def spread(values: list[float]) -> dict:
    """The median of the rounds' values, with the lowest and the highest."""
    return {"median": round(float(np.median(values)), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def medians(rounds: list[dict]) -> dict:
    """Each figure, the median of the rounds."""
    return {key: spread([r[key] for r in rounds])["median"] for key in rounds[0]}


def summarize(rounds: list[dict]) -> dict:
    """One load's figures over the rounds: counts summed, each rate and latency the median of the rounds, and
    the spread of requests/s and p99 beside it."""
    counts = {"requests": sum(r["requests"] for r in rounds), "errors": sum(r["errors"] for r in rounds)}
    lowest_highest = {key: [min(r[key] for r in rounds), max(r[key] for r in rounds)] for key in ("rps", "p99_ms")}
    return {**medians(rounds), **counts, "spread": lowest_highest}


def ratio(ours: list[dict], theirs: list[dict], key: str) -> dict:
    """Round by round `ours[key] / theirs[key]` (rounds measured side by side), its median and spread."""
    return spread([a[key] / b[key] for a, b in zip(ours, theirs, strict=True)])
