"""What the benchmarks share: one way to report a result."""

from __future__ import annotations

import json
from pathlib import Path

from arxiv_embed.atomic import write_json
from arxiv_embed.layout import LAYOUT
from arxiv_embed.machine import cpu_isa


def report(name: str, result: dict, out_dir: Path = LAYOUT.metrics) -> None:
    """Print the result as one JSON object and keep it as metrics/bench_<name>.json, with the CPU it ran on."""
    result.setdefault("cpu", cpu_isa())
    write_json(out_dir / f"bench_{name}.json", result)
    print(json.dumps(result))
