"""Where the real arXiv sample lives for tests, benchmarks and demos: $ARXIV_SAMPLE, or the shared data folder
beside the checkout. It is never part of the repository."""

from __future__ import annotations

import os
from pathlib import Path

SAMPLE_ENV = "ARXIV_SAMPLE"
DEFAULT_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "arxiv-papers.jsonl.gz"


def sample_path() -> Path:
    path = Path(os.environ.get(SAMPLE_ENV, DEFAULT_SAMPLE))
    if not path.is_file():
        raise SystemExit(f"error: real arXiv sample not found at {path}; set ARXIV_SAMPLE")
    return path
