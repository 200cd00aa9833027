"""Serving benchmark: the real app vs a torch/sentence-transformers baseline server, same /search, same load.

wrk, the HTTP load generator, in a process of its own (`benchmarks/wrk.py`), sends real abstracts at concurrency
1, 8 and 32 and reports requests/s, p50/p99 latency and errors for each server, and the app's throughput ratio to
the baseline; then the same load on the app's /embed (one abstract a request), the route a change to the
server's middleware, limits or batching would slow first. Servers take turns (A, B, A, B, ..., `--rounds`
times); each figure is the median of the rounds with its spread.

    python -m benchmarks.serve            # needs models/ from `dvc repro`
    python -m benchmarks.serve --tiny     # one short round, to check it still runs
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from arxiv_embed.layout import LAYOUT
from benchmarks.common import report
from benchmarks.http_load import ROUTES
from benchmarks.wrk import Server, interleaved, ratio, run_wrk, summarize, write_bodies, wrk_binary, wrk_version
from tools.processes import start_server
from tools.sample import real_papers

APP, BASELINE = ["-m", "serve"], ["-m", "benchmarks.baseline_server"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per concurrency level")
    parser.add_argument("--rounds", type=int, default=3, help="each server is measured this many times, in turns")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--tiny", action="store_true", help="one short round, to check the benchmark runs")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    wrk_binary()
    seconds, rounds, levels = (1, 1, [1, 2]) if opts.tiny else (opts.seconds, opts.rounds, opts.concurrency)
    texts = [p["abstract"] for p in real_papers(200, seed=1)]
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        bodies = {
            route: write_bodies(Path(tmp) / f"{route}.jsonl", [body(texts, i) for i in range(len(texts))])
            for route, body in ROUTES.items()
        }

        def server(args: list[str], route: str, **env: str) -> Server:
            def measure(url: str, number: int) -> dict:
                run_wrk(f"{url}/{route}", bodies[route], max(levels), max(1, seconds // 3))  # warm-up
                return {f"c{c}": run_wrk(f"{url}/{route}", bodies[route], c, seconds) for c in levels}

            return Server(lambda: start_server(args, opts.models, env), measure)

        servers = {
            **{f"app_{v}": server(APP, "search", ARXIV_EMBED_ONNX_VARIANT=v) for v in ("fp32", "int8")},
            "baseline_torch": server(BASELINE, "search"),
            **{f"embed_app_{v}": server(APP, "embed", ARXIV_EMBED_ONNX_VARIANT=v) for v in ("fp32", "int8")},
        }
        found = interleaved(servers, rounds)
    summary = {name: {level: summarize([r[level] for r in runs]) for level in runs[0]} for name, runs in found.items()}
    apps = ("app_fp32", "app_int8")
    result = {
        "benchmark": "serve /search",
        "load_generator": wrk_version(),
        "seconds_per_level": seconds,
        "rounds": rounds,
        **{name: summary[name] for name in (*apps, "baseline_torch")},
        "rps_ratio": {
            name: {
                level: ratio([r[level] for r in found[name]], [r[level] for r in found["baseline_torch"]], "rps")
                for level in summary[name]
            }
            for name in apps
        },
        "goal": {"rps_ratio": 3.0, "p99_ms_at_c8": 300, "errors": 0},
        "embed": {name: summary[f"embed_{name}"] for name in apps},
    }
    report("serve", result, opts.out)


if __name__ == "__main__":
    main()
