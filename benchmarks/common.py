"""What the benchmarks share: real papers from the shared sample, and one way to report a result."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from arxiv_embed.atomic import write_json
from arxiv_embed.layout import LAYOUT
from arxiv_embed.machine import cpu_isa
from tools.sample import sample_path


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


def report(name: str, result: dict, out_dir: Path = LAYOUT.metrics) -> None:
    """Print the result as one JSON object and keep it as metrics/bench_<name>.json, with the CPU it ran on."""
    result.setdefault("cpu", cpu_isa())
    write_json(out_dir / f"bench_{name}.json", result)
    print(json.dumps(result))
