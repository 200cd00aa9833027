"""Reading the labelled training pool (the subsample stage's `data/pool`) one shard at a time.

Each pool shard is a random sample of the pool, so the first papers of it are a random sample too: `PoolReader`
takes whole shards in order until `max_papers`, and a seeded sample of the last one it needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from arxiv_embed.data.shards import shard_files


@dataclass(frozen=True)
class PoolReader:
    """The first `max_papers` papers of the pool in `folder` (None: all of them)."""

    folder: Path
    max_papers: int | None
    seed: int

    def frames(self, columns: Sequence[str] | None = None) -> Iterator[pd.DataFrame]:
        """The papers, shard by shard; the same rows whatever `columns` are read."""
        left = self.max_papers if self.max_papers is not None else float("inf")
        for path in shard_files(self.folder):
            if left <= 0:
                return
            papers = pd.read_parquet(path, columns=list(columns) if columns else None)
            if left < len(papers):
                papers = papers.sample(n=int(left), random_state=self.seed)
            left -= len(papers)
            yield papers.reset_index(drop=True)

    def categories(self) -> np.ndarray:
        """The sorted primary categories of the papers read."""
        labels = [df["primary_category"].to_numpy() for df in self.frames(["primary_category"])]
        return np.unique(np.concatenate(labels)) if labels else np.array([], dtype=str)
