"""A split's stored vectors joined to its papers: the one way every stage lines up vectors, texts and labels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from arxiv_embed.data.text import build_texts
from arxiv_embed.data.vectors import load_vectors


@dataclass(frozen=True)
class SplitVectors:
    """A split's papers in the order of its vector file (which need not be the split file's order)."""

    ids: np.ndarray
    vectors: np.ndarray
    papers: pd.DataFrame  # indexed by id, row i is the paper of vectors[i]

    @property
    def labels(self) -> np.ndarray:
        """Primary categories, row for row."""
        return self.papers["primary_category"].to_numpy()

    def texts(self, field: str) -> list[str]:
        return build_texts(self.papers["title"], self.papers["abstract"], field)


def split_vectors(vectors_file: Path, split_file: Path) -> SplitVectors:
    """The vectors in `vectors_file` with their papers from `split_file`, aligned by id."""
    ids, vectors = load_vectors(vectors_file)
    return SplitVectors(ids, vectors, pd.read_parquet(split_file).set_index("id").loc[ids])
