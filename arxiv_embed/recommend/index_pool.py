"""The served index as a recommendation `Pool`: the vector index and the TF-IDF postings, over every position or
those of a window (the papers first announced since a day, `PaperStore.announced_from`): the vector index searches
only those and the postings' scores are read at them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arxiv_embed.recommend.methods import Examples, Ranking, top
from arxiv_embed.search.index import VectorIndex
from arxiv_embed.search.lexical import LexicalIndex, SparseRow


@dataclass(frozen=True)
class IndexPool:
    vector_index: VectorIndex
    lexical_index: LexicalIndex
    positions: np.ndarray | None = None  # the positions that may be recommended (sorted); None: every one

    def dense(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.vector_index.search(queries, k, self.positions)

    def lexical(self, row: SparseRow, k: int) -> Ranking:
        scores = self.lexical_index.scores(row)
        if self.positions is not None:
            scores = scores[self.positions]
        shared = np.flatnonzero(scores > 0)
        return top(scores[shared], shared if self.positions is None else self.positions[shared], k)

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        return self.vector_index.vectors(positions)

    def rows(self, positions: np.ndarray) -> list[SparseRow]:
        return self.lexical_index.rows(positions)

    def examples(self, positions: np.ndarray) -> Examples:
        if not len(positions):
            return Examples(np.zeros((0, self.vector_index.d), np.float32), [])
        return Examples(self.vectors(positions), self.rows(positions))

    def negatives(self, size: int, seed: int) -> Examples:
        """A seeded sample of the index's live papers: what a per-reader linear model learns against."""
        rng = np.random.default_rng(seed)
        drawn = rng.choice(
            self.vector_index.ntotal,
            min(size + len(self.vector_index.removed), self.vector_index.ntotal),
            replace=False,
        )
        live = drawn[~np.isin(drawn, self.vector_index.removed)][:size]
        return self.examples(np.sort(live))
