"""Lexical search over the corpus: the classifier's TF-IDF features as memory-mapped postings, scored with numpy.

The corpus's TF-IDF matrix is stored column by column (one posting list per term: the papers that hold it and
their weights) and row by row (each paper's own terms, for recommendations from a reader's papers), as .npy arrays
that the server memory-maps, so its RSS does not grow with the corpus and it needs neither scipy nor scikit-learn.
A query's score for a paper is the cosine of their TF-IDF rows (both are L2-normalised), summed over the query's
terms with one `np.bincount`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm.auto import tqdm

from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.shards import iter_batches
from arxiv_embed.data.text import build_texts
from arxiv_embed.search.papers import load_removed

LEXICAL_FILES = (  # in the order of `Postings`
    *("postings_indptr.npy", "postings_docs.npy", "postings_weights.npy"),
    *("rows_indptr.npy", "rows_terms.npy", "rows_weights.npy"),
)

SparseRow = tuple[np.ndarray, np.ndarray]  # (columns, values), as TfidfFeatures.transform returns


class Postings(NamedTuple):
    """The corpus's TF-IDF matrix both ways: per term (what search reads) and per paper (a paper's own row)."""

    indptr: np.ndarray  # per term: its papers are docs[indptr[t]:indptr[t + 1]]
    docs: np.ndarray
    weights: np.ndarray
    row_indptr: np.ndarray  # per paper: its terms are row_terms[row_indptr[p]:row_indptr[p + 1]]
    row_terms: np.ndarray
    row_weights: np.ndarray


def corpus_rows(corpus: Path, features: TfidfFeatures, positions: dict[str, int], field: str) -> list[SparseRow]:
    """Each paper's TF-IDF row from the sharded `corpus`, at its position in the vector index."""
    rows: list = [None] * len(positions)
    with tqdm(total=len(positions), desc="tf-idf corpus") as bar:
        for chunk in iter_batches(corpus, ["id", "title", "abstract"]):
            texts = build_texts(chunk["title"].to_pylist(), chunk["abstract"].to_pylist(), field)
            for paper_id, text in zip(chunk["id"].to_pylist(), texts, strict=True):
                rows[positions[paper_id]] = features.transform(text)
            bar.update(chunk.num_rows)
    return rows


def read_postings(folder: Path, mmap: bool = False) -> Postings:
    mode = "r" if mmap else None
    return Postings(*(np.load(folder / name, mmap_mode=mode) for name in LEXICAL_FILES))


def empty_postings(n_terms: int) -> Postings:
    empty = (np.zeros(0, np.int32), np.zeros(0, np.float32))
    return Postings(np.zeros(n_terms + 1, np.int64), *empty, np.zeros(1, np.int64), *empty)


def append_postings(postings: Postings, rows: Iterable[SparseRow]) -> Postings:
    """`postings` with per-paper sparse rows added as the next papers.

    Within each term the papers stay in ascending order, so postings grown shard by shard equal postings
    written at once.
    """
    indptr, old_docs, old_weights = postings[:3]
    first_doc = len(postings.row_indptr) - 1
    n_terms = len(indptr) - 1
    columns, values, docs = [np.zeros(0, np.int32)], [np.zeros(0, np.float32)], [np.zeros(0, np.int32)]
    for doc, (cols, vals) in enumerate(rows, start=first_doc):
        columns.append(cols.astype(np.int32))
        values.append(vals.astype(np.float32))
        docs.append(np.full(len(cols), doc, np.int32))
    new_terms = np.concatenate(columns)
    old_terms = np.repeat(np.arange(n_terms, dtype=np.int32), np.diff(indptr))
    order = np.argsort(np.concatenate([old_terms, new_terms]), kind="stable")  # by term; old papers come first
    added = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.bincount(new_terms, minlength=n_terms), out=added[1:])
    row_indptr = np.concatenate(
        [postings.row_indptr, postings.row_indptr[-1] + np.cumsum([len(c) for c in columns[1:]])]
    )
    return Postings(
        indptr + added,
        np.concatenate([old_docs, *docs])[order],
        np.concatenate([old_weights, *values])[order],
        row_indptr.astype(np.int64),
        np.concatenate([postings.row_terms, new_terms]),
        np.concatenate([postings.row_weights, *values]),
    )


def save_postings(postings: Postings, folder: Path) -> None:
    for name, array in zip(LEXICAL_FILES, postings, strict=True):
        np.save(folder / name, array)


def write_postings(rows: Iterable[SparseRow], n_terms: int, folder: Path) -> dict[str, int]:
    """Turn per-paper sparse rows (in index order) into per-term posting lists, and save them in `folder`."""
    rows = list(rows)
    postings = append_postings(empty_postings(n_terms), rows)
    save_postings(postings, folder)
    return {"papers": len(rows), "terms": n_terms, "postings": int(len(postings[1]))}


class LexicalIndex:
    """Memory-mapped posting lists; `search` takes queries as sparse TF-IDF rows. Positions listed in the
    folder's `removed.npy` (withdrawn or replaced papers) score zero, so they are never returned."""

    def __init__(self, folder: str | os.PathLike, n_docs: int) -> None:
        folder = Path(folder)
        # plain arrays over the maps: slicing a np.memmap builds a memmap object a slice, which costs more than
        # reading a short posting list
        self.postings = Postings(*(np.asarray(a) for a in read_postings(folder, mmap=True)))
        self.indptr, self.docs, self.weights = self.postings[:3]
        self.removed = load_removed(folder)
        self.ntotal = n_docs

    @property
    def n_terms(self) -> int:
        return len(self.indptr) - 1

    def rows(self, positions: Sequence[int]) -> list[SparseRow]:
        """The stored TF-IDF rows of papers at `positions`, as (columns, values)."""
        p = self.postings
        spans = [(int(p.row_indptr[i]), int(p.row_indptr[i + 1])) for i in positions]
        return [(np.asarray(p.row_terms[a:b], np.int64), np.asarray(p.row_weights[a:b])) for a, b in spans]

    def scores(self, row: SparseRow) -> np.ndarray:
        """Cosine of one query row with every paper (zero for papers that share no term)."""
        cols, vals = row
        spans = [(int(self.indptr[c]), int(self.indptr[c + 1])) for c in cols]
        if not spans:
            return np.zeros(self.ntotal, np.float32)
        docs = np.concatenate([self.docs[a:b] for a, b in spans])
        weights = np.concatenate([self.weights[a:b] * v for (a, b), v in zip(spans, vals, strict=True)])
        scores = np.bincount(docs, weights=weights, minlength=self.ntotal).astype(np.float32)
        scores[self.removed] = 0
        return scores

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
