"""What a model costs once served: the int8 app on each bundle, same machine, same /search load.

For each `NAME=MODELS_DIR` (a `models/` folder from `dvc repro`, or an experiment's workspace), one after the
other: the server's resident memory when ready and after the load, and requests/s with p50/p99 latency of
/search (real abstracts, encoding included) at concurrency 1 and 8, plus the model, dimension and corpus that
its /ready reports. Two bundles that differ only in `model` (MiniLM and mpnet, say) give the serving cost of
model scale.

    python -m benchmarks.model_serving minilm=../minilm/models mpnet=../mpnet/models
    python -m benchmarks.model_serving --tiny minilm=models
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import httpx

from arxiv_embed.layout import LAYOUT
from arxiv_embed.machine import memory_mb
from benchmarks.common import report
from benchmarks.http_load import load
from tools.processes import start_server
from tools.sample import real_papers

LEVELS = (1, 8)
READY_FIELDS = ("model_name", "onnx_variant", "dim", "corpus_size", "index_type", "search_mode")


def bundle_arg(value: str) -> tuple[str, Path]:
    name, sep, folder = value.partition("=")
    if not sep or not name or not Path(folder).is_dir():
        raise argparse.ArgumentTypeError(f"{value!r}: expected NAME=MODELS_DIR with an existing folder")
    return name, Path(folder)


def served_cost(models_dir: Path, texts: list[str], requests: int) -> dict:
    """RSS and /search latency of the int8 app on one bundle."""
    proc, url = start_server(["-m", "serve"], models_dir, {"ARXIV_EMBED_ONNX_VARIANT": "int8"})
    try:
        ready = httpx.get(f"{url}/ready", timeout=30).json()
        rss_ready = memory_mb(proc.pid)["VmRSS"]
        search = {f"c{c}": asyncio.run(load(url, texts, c, requests, 300)) for c in LEVELS}
        rss = memory_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        **{field: ready[field] for field in READY_FIELDS},
        "rss_mb_at_ready": rss_ready,
        "rss_mb_after_load": rss["VmRSS"],
        "rss_mb_peak": rss["VmHWM"],
        "search": search,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", type=bundle_arg, metavar="NAME=MODELS_DIR")
    parser.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    parser.add_argument("--tiny", action="store_true", help="a handful of requests, to check the benchmark runs")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    requests = 6 if opts.tiny else opts.requests
    texts = [p["abstract"] for p in real_papers(200, seed=1)]
    result = {
        "benchmark": "model serving",
        "route": "/search",
        "requests_per_level": requests,
        "bundles": {name: served_cost(folder, texts, requests) for name, folder in opts.bundles},
    }
    report("model_serving", result, opts.out)


if __name__ == "__main__":
    main()
