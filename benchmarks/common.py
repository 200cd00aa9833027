"""What the benchmarks share: one way to report a result."""

from __future__ import annotations

import json
from pathlib import Path

from arxiv_embed.atomic import write_json
from arxiv_embed.layout import LAYOUT
from arxiv_embed.machine import cpu_isa, isa_name


def report(name: str, result: dict, out_dir: Path = LAYOUT.metrics, per_cpu: bool = False) -> None:
    """Print the result as one JSON object and keep it as metrics/bench_<name>.json, with the CPU it ran on; with
    `per_cpu`, as metrics/bench_<name>_<isa>.json, one file per kind of CPU (its widest vector ISA), for the
    results that the CPU's int8 instructions move."""
    cpu = result.setdefault("cpu", cpu_isa())
    write_json(out_dir / (f"bench_{name}_{isa_name(cpu)}.json" if per_cpu else f"bench_{name}.json"), result)
    print(json.dumps(result))
