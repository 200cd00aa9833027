"""Ranking methods for a reader's library, one registry entry each, over any `Pool` of candidate papers.

Every method turns the library into queries for what the pool already answers (inner-product search over the
vectors, TF-IDF postings), so none scans every vector: a linear model's weight vector is itself a query. The
evaluation runs them over a split held in memory, the server over the (grown) index; both through `Pool`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import faiss
import numpy as np

from arxiv_embed.search.lexical import SparseRow
from arxiv_embed.search.modes import reciprocal_rank_fusion

Ranking = tuple[np.ndarray, np.ndarray]  # (scores, positions) of one reader, best first; -1: no paper


class Pool(Protocol):
    """The candidate papers: top-k by a dense or a sparse (TF-IDF) query, and the stored features of any of them."""

    def dense(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...

    def lexical(self, row: SparseRow, k: int) -> Ranking: ...

    def vectors(self, positions: np.ndarray) -> np.ndarray: ...

    def rows(self, positions: np.ndarray) -> list[SparseRow]: ...


class SparseEntries(NamedTuple):
    """Sparse rows as one array of entries each: the row, the column and the value of every entry."""

    size: int  # rows
    which: np.ndarray
    cols: np.ndarray
    vals: np.ndarray


def sparse_entries(rows: Sequence[SparseRow]) -> SparseEntries:
    if not rows:
        return SparseEntries(0, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    which = np.repeat(np.arange(len(rows)), [len(c) for c, _ in rows])
    return SparseEntries(len(rows), which, np.concatenate([c for c, _ in rows]), np.concatenate([v for _, v in rows]))


@dataclass(frozen=True)
class Examples:
    """Papers given as features: unit embeddings and TF-IDF rows, row for row."""

    vectors: np.ndarray  # (n, dim)
    rows: list[SparseRow]

    def __len__(self) -> int:
        return len(self.rows)

    @functools.cached_property
    def entries(self) -> SparseEntries:
        """The TF-IDF rows as entries, built once: the negatives are projected for every reader."""
        return sparse_entries(self.rows)


@dataclass(frozen=True)
class Reader:
    """What a reader likes and dislikes, and the corpus sample that a per-reader linear model learns against."""

    liked: Examples
    disliked: Examples
    negatives: Examples  # the corpus sample (`recommend.negatives` papers) a per-reader linear model learns against


@dataclass(frozen=True)
class RankConfig:
    alpha: float  # ridge penalty of the per-reader linear model
    max_terms: int  # TF-IDF terms the lexical model may weigh: the liked (and disliked) papers' heaviest
    max_queries: int = 8  # searches for the liked papers' neighbours: each paper, or as many of their centres


def unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def heaviest_terms(entries: SparseEntries, limit: int) -> np.ndarray:
    """The `limit` terms with the largest summed weight over the rows, sorted by term id."""
    if not len(entries.cols):
        return np.zeros(0, np.int64)
    terms, inverse = np.unique(entries.cols, return_inverse=True)
    total = np.bincount(inverse, weights=entries.vals)
    return np.sort(terms[np.argsort(-total, kind="stable")[:limit]])


def project(entries: SparseEntries, terms: np.ndarray) -> np.ndarray:
    """Rows as a dense (n, len(terms)) matrix over `terms` (sorted); other terms are dropped."""
    out = np.zeros((entries.size, len(terms)), np.float32)
    if not len(entries.cols) or not len(terms):
        return out
    column = np.full(max(int(entries.cols.max()), int(terms[-1])) + 1, -1, np.int32)  # term -> its column
    column[terms] = np.arange(len(terms))
    at = column[entries.cols]
    keep = at >= 0
    out[entries.which[keep], at[keep]] = entries.vals[keep]
    return out


def fit_linear(features: np.ndarray, positive: int, alpha: float) -> np.ndarray:
    """Weights of a class-balanced ridge classifier, the first `positive` rows against the rest (dual form, so
    its cost grows with the rows, a few hundred, not with the features)."""
    n = len(features)
    labels = np.where(np.arange(n) < positive, 1.0, -1.0)
    balance = np.where(labels > 0, n / (2 * positive), n / (2 * max(n - positive, 1)))
    gram = features @ features.T + np.diag(alpha / balance)
    return features.T @ np.linalg.solve(gram, labels)


def training_rows(reader: Reader) -> tuple[list[Examples], int]:
    return [reader.liked, reader.disliked, reader.negatives], len(reader.liked)


def lexical_model(reader: Reader, cfg: RankConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The terms a lexical model weighs, and its training matrix over them."""
    terms = np.union1d(
        heaviest_terms(reader.liked.entries, cfg.max_terms), heaviest_terms(reader.disliked.entries, cfg.max_terms)
    )
    groups, positive = training_rows(reader)
    features = np.vstack([project(g.entries, terms) for g in groups])
    return terms, features, np.vstack([g.vectors for g in groups]), positive


def top(scores: np.ndarray, positions: np.ndarray, k: int) -> Ranking:
    """The k best (scores, positions), ties by position; only papers scoring at least the k-th best are sorted."""
    if 0 < k < len(scores) // 4:
        keep = scores >= np.partition(scores, len(scores) - k)[len(scores) - k]
        scores, positions = scores[keep], positions[keep]
    order = np.lexsort((positions, -scores))[:k]
    return scores[order], positions[order]


def centroid(reader: Reader, pool: Pool, cfg: RankConfig, k: int) -> Ranking:
    scores, positions = pool.dense(unit(reader.liked.vectors.mean(axis=0))[None, :], k)
    return scores[0], positions[0]


def interest_queries(vectors: np.ndarray, most: int) -> np.ndarray:
    """At most `most` queries that cover a library: its papers, or the centres of `most` spherical k-means
    clusters of them (faiss), so that a large library costs a few searches, not one a paper."""
    if len(vectors) <= most:
        return vectors
    kmeans = faiss.Kmeans(vectors.shape[1], most, niter=20, seed=0, spherical=True, min_points_per_centroid=1)
    kmeans.train(np.ascontiguousarray(vectors, dtype=np.float32))
    return kmeans.centroids


def nearest_liked(reader: Reader, pool: Pool, cfg: RankConfig, k: int) -> Ranking:
    """Each paper scored by its best cosine with any one liked paper, a reader with several interests keeps them
    all; candidates come from the searches of `interest_queries`."""
    liked = reader.liked.vectors
    _, found = pool.dense(interest_queries(liked, cfg.max_queries), k)
    candidates = np.unique(found[found >= 0])
    if not len(candidates):
        return np.zeros(0, np.float32), candidates
    return top((pool.vectors(candidates) @ liked.T).max(axis=1), candidates, k)


def linear_dense(reader: Reader, pool: Pool, cfg: RankConfig, k: int) -> Ranking:
    groups, positive = training_rows(reader)
    weights = fit_linear(np.vstack([g.vectors for g in groups]), positive, cfg.alpha)
    scores, positions = pool.dense(weights[None, :].astype(np.float32), k)
    return scores[0], positions[0]


def positive_query(terms: np.ndarray, weights: np.ndarray) -> SparseRow:
    """The terms a linear model weighs up, as a query for the postings: a paper is found by what it shares with
    the liked papers, not ranked above others for lacking the terms weighed down."""
    keep = weights > 0
    return terms[keep], weights[keep].astype(np.float32)


def linear_lexical(reader: Reader, pool: Pool, cfg: RankConfig, k: int) -> Ranking:
    terms, features, _, positive = lexical_model(reader, cfg)
    return pool.lexical(positive_query(terms, fit_linear(features, positive, cfg.alpha)), k)


def linear_both(reader: Reader, pool: Pool, cfg: RankConfig, k: int) -> Ranking:
    """One model over the embedding and the TF-IDF terms; candidates from each half, scored by the whole."""
    terms, lexical_features, dense_features, positive = lexical_model(reader, cfg)
    weights = fit_linear(np.hstack([dense_features, lexical_features]), positive, cfg.alpha).astype(np.float32)
    dense_w, lexical_w = weights[: dense_features.shape[1]], weights[dense_features.shape[1] :]
    depth = max(k, 100)
    candidates = np.concatenate(
        [pool.dense(dense_w[None, :], depth)[1][0], pool.lexical(positive_query(terms, lexical_w), depth)[1]]
    )
    candidates = np.unique(candidates[candidates >= 0])
    if not len(candidates):
        return np.zeros(0, np.float32), candidates
    scores = pool.vectors(candidates) @ dense_w + project(sparse_entries(pool.rows(candidates)), terms) @ lexical_w
    return top(scores, candidates, k)


def padded(ranking: Ranking, depth: int) -> np.ndarray:
    """A ranking's positions as one row of `depth`, -1 past its end: what `reciprocal_rank_fusion` takes."""
    row = np.full((1, depth), -1, np.int64)
    row[0, : len(ranking[1])] = ranking[1][:depth]
    return row


def fused(reader: Reader, pool: Pool, cfg: RankConfig, k: int) -> Ranking:
    """Reciprocal-rank fusion of the dense centroid's ranking and the liked papers' summed TF-IDF terms'."""
    depth = max(k, 100)
    terms = heaviest_terms(reader.liked.entries, cfg.max_terms)
    summed = project(reader.liked.entries, terms).sum(axis=0)
    rankings = [padded(centroid(reader, pool, cfg, depth), depth), padded(pool.lexical((terms, summed), depth), depth)]
    scores, positions = reciprocal_rank_fusion(rankings, [0.5, 0.5], 60, k)
    return scores[0], positions[0]


def linear_and_nearest(reader: Reader, pool: Pool, cfg: RankConfig, k: int) -> Ranking:
    """Reciprocal-rank fusion of `linear_both` (the library as a whole) and `nearest_liked` (each liked paper's
    own neighbours, which keep every interest of a reader with several)."""
    depth = max(k, 100)
    rankings = [padded(method(reader, pool, cfg, depth), depth) for method in (linear_both, nearest_liked)]
    scores, positions = reciprocal_rank_fusion(rankings, [0.5, 0.5], 60, k)
    return scores[0], positions[0]


@dataclass(frozen=True)
class Recommender:
    rank: Callable[[Reader, Pool, RankConfig, int], Ranking]
    description: str


RECOMMENDERS: dict[str, Recommender] = {
    "centroid": Recommender(centroid, "cosine with the mean of the liked papers' embeddings"),
    "nearest_liked": Recommender(nearest_liked, "the best cosine with any one liked paper"),
    "linear_dense": Recommender(linear_dense, "a ridge classifier per reader over the embeddings"),
    "linear_lexical": Recommender(linear_lexical, "a ridge classifier per reader over TF-IDF terms"),
    "linear_both": Recommender(linear_both, "a ridge classifier per reader over the embeddings and TF-IDF terms"),
    "fused": Recommender(fused, "reciprocal-rank fusion of the dense centroid and the liked papers' terms"),
    "linear_and_nearest": Recommender(linear_and_nearest, "reciprocal-rank fusion of linear_both and nearest_liked"),
}


def recommend(method: str, reader: Reader, pool: Pool, cfg: RankConfig, k: int, excluded: set[int]) -> Ranking:
    """The top-k positions of `method` for `reader`, none of them in `excluded` (the liked papers, those seen)."""
    scores, positions = RECOMMENDERS[method].rank(reader, pool, cfg, k + len(excluded))
    keep = (positions >= 0) & ~np.isin(positions, list(excluded))
    return scores[keep][:k], positions[keep][:k]
