"""The encoder's runtime and thread settings on the CPU at hand: each installed runtime's threads, and whether
onnxruntime's idle threads spin.

A spinning thread busy-waits for the next call instead of sleeping; on a machine of few cores it may take the
cycles that the server's own threads need (tokenizing, search, the answer). OpenVINO's threads do not spin. One
`python -m serve` per setting (the int8 graph), `/search` with real abstracts from wrk at concurrency 1 and 8, the
settings measured in interleaved rounds (benchmarks/wrk.py). Reports each setting's requests/s and p50/p99 with their
spread, and the setting that serves concurrency 8 fastest; kept as metrics/bench_threads_<isa>.json, one file per
kind of CPU.

    python -m benchmarks.threads            # needs models/ from `dvc repro`
    python -m benchmarks.threads --tiny     # one short round, to check it still runs
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from arxiv_embed.encode.runtimes import RUNTIMES
from arxiv_embed.layout import LAYOUT
from benchmarks.common import report
from benchmarks.http_load import ROUTES
from benchmarks.wrk import Server, interleaved, run_wrk, summarize, write_bodies, wrk_binary, wrk_version
from serve.settings import Settings
from tools.processes import start_server
from tools.sample import real_papers


def settings() -> dict[str, dict[str, str]]:
    """Each installed runtime's settings, by name: the server's environment."""
    found = {}
    for runtime, entry in RUNTIMES.items():
        if not entry.installed():
            continue
        for threads in (0, 1):
            for spinning in (True, False) if entry.spins else (None,):
                name = f"{runtime}_{threads or 'all'}"
                env = {"ARXIV_EMBED_ONNX_VARIANT": "int8", "ARXIV_EMBED_RUNTIME": runtime}
                env["ARXIV_EMBED_THREADS"] = str(threads)
                if spinning is not None:
                    name += "_spinning" if spinning else "_sleeping"
                    env["ARXIV_EMBED_SPINNING"] = str(spinning).lower()
                found[name] = env
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per concurrency level")
    parser.add_argument("--rounds", type=int, default=3, help="each setting is measured this many times, in turns")
    parser.add_argument("--tiny", action="store_true", help="one short round, to check the benchmark runs")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    wrk_binary()
    seconds, rounds, levels = (1, 1, [1, 2]) if opts.tiny else (opts.seconds, opts.rounds, [1, 8])
    texts = [p["abstract"] for p in real_papers(200, seed=1)]
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as tmp:
        bodies = write_bodies(Path(tmp) / "search.jsonl", [ROUTES["search"](texts, i) for i in range(len(texts))])

        def server(env: dict[str, str]) -> Server:
            def measure(url: str, number: int) -> dict:
                run_wrk(f"{url}/search", bodies, max(levels), max(1, seconds // 3))  # warm-up
                return {f"c{c}": run_wrk(f"{url}/search", bodies, c, seconds) for c in levels}

            return Server(lambda: start_server(["-m", "serve"], opts.models, env), measure)

        tried = settings()
        found = interleaved({name: server(env) for name, env in tried.items()}, rounds)
    summary = {name: {level: summarize([r[level] for r in runs]) for level in runs[0]} for name, runs in found.items()}
    busiest = f"c{max(levels)}"
    result = {
        "benchmark": "runtime and thread settings, serve /search (int8)",
        "load_generator": wrk_version(),
        "seconds_per_level": seconds,
        "rounds": rounds,
        "settings": {name: {**tried[name], **summary[name]} for name in tried},
        "fastest_at": {busiest: max(summary, key=lambda name: summary[name][busiest]["rps"])},
        "served_default": {name: Settings.model_fields[name].default for name in ("runtime", "threads", "spinning")},
    }
    report("threads", result, opts.out, per_cpu=True)


if __name__ == "__main__":
    main()
