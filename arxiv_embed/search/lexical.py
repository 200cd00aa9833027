"""Lexical search over the corpus: the classifier's TF-IDF features as memory-mapped postings, scored with numpy.

The corpus's TF-IDF matrix is stored column by column (one posting list per term: the papers that hold it and
their weights), as three .npy arrays that the server memory-maps, so its RSS does not grow with the corpus and it
needs neither scipy nor scikit-learn. A query's score for a paper is the cosine of their TF-IDF rows (both are
L2-normalised), summed over the query's terms with one `np.bincount`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

INDPTR_FILE, DOCS_FILE, WEIGHTS_FILE = "postings_indptr.npy", "postings_docs.npy", "postings_weights.npy"
LEXICAL_FILES = (INDPTR_FILE, DOCS_FILE, WEIGHTS_FILE)

SparseRow = tuple[np.ndarray, np.ndarray]  # (columns, values), as TfidfFeatures.transform returns


def write_postings(rows: Iterable[SparseRow], n_terms: int, folder: Path) -> dict[str, int]:
    """Turn per-paper sparse rows (in index order) into per-term posting lists, and save them in `folder`."""
    columns, values, docs = [], [], []
    for doc, (cols, vals) in enumerate(rows):
        columns.append(cols.astype(np.int32))
        values.append(vals.astype(np.float32))
        docs.append(np.full(len(cols), doc, np.int32))
    n_docs = len(docs)
    columns_all = np.concatenate(columns) if columns else np.zeros(0, np.int32)
    order = np.argsort(columns_all, kind="stable")  # by term, papers ascending within a term
    indptr = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.bincount(columns_all, minlength=n_terms), out=indptr[1:])
    np.save(folder / INDPTR_FILE, indptr)
    np.save(folder / DOCS_FILE, (np.concatenate(docs) if docs else np.zeros(0, np.int32))[order])
    np.save(folder / WEIGHTS_FILE, (np.concatenate(values) if values else np.zeros(0, np.float32))[order])
    return {"papers": n_docs, "terms": n_terms, "postings": int(len(order))}


class LexicalIndex:
    """Memory-mapped posting lists; `search` takes queries as sparse TF-IDF rows."""

    def __init__(self, folder: str | os.PathLike, n_docs: int) -> None:
        folder = Path(folder)
        self.indptr = np.load(folder / INDPTR_FILE, mmap_mode="r")
        self.docs = np.load(folder / DOCS_FILE, mmap_mode="r")
        self.weights = np.load(folder / WEIGHTS_FILE, mmap_mode="r")
        self.ntotal = n_docs

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1

    def scores(self, row: SparseRow) -> np.ndarray:
        """Cosine of one query row with every paper (zero for papers that share no term)."""
        cols, vals = row
        spans = [(int(self.indptr[c]), int(self.indptr[c + 1])) for c in cols]
        if not spans:
            return np.zeros(self.ntotal, np.float32)
        docs = np.concatenate([self.docs[a:b] for a, b in spans])
        weights = np.concatenate([self.weights[a:b] * v for (a, b), v in zip(spans, vals, strict=True)])
        return np.bincount(docs, weights=weights, minlength=self.ntotal).astype(np.float32)

    def search(self, rows: Sequence[SparseRow], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, positions) per query, best first; -1 positions where fewer papers share a term."""
        out_scores = np.full((len(rows), k), -np.inf, np.float32)
        out_positions = np.full((len(rows), k), -1, np.int64)
        for i, row in enumerate(rows):
            scores = self.scores(row)
            take = min(k, self.ntotal)
            top = np.argpartition(-scores, take - 1)[:take]
            top = top[np.lexsort((top, -scores[top]))]  # best first, ties by position: deterministic
            top = top[scores[top] > 0]
            out_scores[i, : len(top)], out_positions[i, : len(top)] = scores[top], top
        return out_scores, out_positions
