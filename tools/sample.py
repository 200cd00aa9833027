"""Where the real arXiv sample lives for tests, benchmarks and demos ($ARXIV_SAMPLE, or the shared data folder
beside the checkout; never part of the repository), and a uniform draw of its papers."""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

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
