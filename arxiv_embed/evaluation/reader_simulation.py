"""Which recommendation method serves readers best: simulated readers built from the splits.

A simulated reader keeps a library of n train papers drawn from one, two or three primary categories (several
interests); the papers relevant to them are the candidates of those categories. Every method of `RECOMMENDERS`
ranks the candidates (a held-out split, or only its newest papers, as the daily feed does) beside
arxiv-sanity-lite's own recipe: a linear SVM per reader over TF-IDF, `LinearSVC(C=0.01, class_weight="balanced")`,
with the library as positives and every candidate as a negative.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.svm import LinearSVC
from tqdm.auto import tqdm

from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.data.arxiv_ids import id_order
from arxiv_embed.data.split_vectors import SplitVectors
from arxiv_embed.errors import PipelineError
from arxiv_embed.metrics import with_interval
from arxiv_embed.recommend.methods import RECOMMENDERS, Examples, RankConfig, Ranking, Reader, top
from arxiv_embed.recommend.spec import RecommendSpec, ShapeChoice
from arxiv_embed.search.lexical import SparseRow

K = 10
BASELINE = "arxiv_sanity_svm"  # arxiv-sanity-lite's recipe, evaluated beside the registry's methods


@dataclass(frozen=True)
class MatrixPool:
    """A split held in memory as a `Pool`: its unit vectors and its TF-IDF rows (CSR, with a CSC copy for terms)."""

    embeddings: np.ndarray
    tfidf: sparse.csr_matrix
    labels: np.ndarray  # primary categories

    @classmethod
    def of(cls, split: SplitVectors, features: TfidfFeatures, field: str) -> MatrixPool:
        rows = [features.transform(t) for t in tqdm(split.texts(field), desc="tf-idf", leave=False)]
        return cls(split.vectors.astype(np.float32), csr_rows(rows, features.size), split.labels)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, positions: np.ndarray) -> MatrixPool:
        return MatrixPool(self.embeddings[positions], self.tfidf[positions], self.labels[positions])

    def dense(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = queries @ self.embeddings.T
        take = min(k, len(self))
        best = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        order = np.take_along_axis(best, np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1), axis=1)
        return np.take_along_axis(scores, order, axis=1), order

    def lexical(self, row: SparseRow, k: int) -> Ranking:
        query = np.zeros(self.tfidf.shape[1], np.float32)
        query[row[0]] = row[1]
        scores = self.tfidf @ query
        positions = np.flatnonzero(scores > 0)
        return top(scores[positions], positions, k)

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        return self.embeddings[positions]

    def rows(self, positions: np.ndarray) -> list[SparseRow]:
        m = self.tfidf
        return [(m.indices[m.indptr[p] : m.indptr[p + 1]], m.data[m.indptr[p] : m.indptr[p + 1]]) for p in positions]

    def examples(self, positions: np.ndarray) -> Examples:
        return Examples(self.embeddings[positions], self.rows(positions))


def csr_rows(rows: Sequence[SparseRow], n_terms: int) -> sparse.csr_matrix:
    indptr = np.concatenate([[0], np.cumsum([len(c) for c, _ in rows])])
    cols = np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, np.int64)
    vals = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, np.float32)
    return sparse.csr_matrix((vals, cols, indptr), shape=(len(rows), n_terms), dtype=np.float32)


@dataclass(frozen=True)
class SimulatedReader:
    liked: np.ndarray  # positions in the library's split
    categories: frozenset[str]
    negatives: np.ndarray  # a seeded sample of the library's other papers that the linear models learn against


def simulate_readers(
    library: np.ndarray, candidates: np.ndarray, size: int, interests: int, count: int, seed: int, negatives: int = 0
) -> list[SimulatedReader]:
    """`count` readers of `size` papers over `interests` categories, each with papers among the candidates."""
    rng = np.random.default_rng([seed, size, interests])
    per_interest = -(-size // interests)
    eligible = sorted(c for c in set(candidates) if np.sum(library == c) >= per_interest)
    readers = []
    for _ in range(count if len(eligible) >= interests else 0):
        chosen = rng.choice(eligible, interests, replace=False)
        shares = np.diff(np.linspace(0, size, interests + 1).round().astype(int))
        liked = [
            rng.choice(np.flatnonzero(library == c), n, replace=False) for c, n in zip(chosen, shares, strict=True)
        ]
        kept = np.concatenate(liked)
        others = np.setdiff1d(np.arange(len(library)), kept)
        sample = rng.choice(others, min(negatives, len(others)), replace=False)
        readers.append(SimulatedReader(kept, frozenset(chosen), sample))
    return readers


def arxiv_sanity_svm(library: MatrixPool, candidates: MatrixPool, liked: np.ndarray, k: int) -> np.ndarray:
    """arxiv-sanity-lite's ranking: an SVM per reader, the library's papers against every candidate."""
    x = sparse.vstack([library.tfidf[liked], candidates.tfidf])
    y = np.r_[np.ones(len(liked)), np.zeros(len(candidates))]
    svm = LinearSVC(C=0.01, class_weight="balanced", max_iter=10_000, tol=1e-6).fit(x, y)
    scores = svm.decision_function(candidates.tfidf)
    return np.argsort(-scores, kind="stable")[:k]


def ranking_quality(found: np.ndarray, labels: np.ndarray, wanted: frozenset[str], k: int = K) -> tuple[float, float]:
    """P@k and nDCG@k (binary gains) of one ranking."""
    relevant = np.array([labels[p] in wanted for p in found[:k]], dtype=float)
    relevant = np.pad(relevant, (0, k - len(relevant)))
    discounts = 1 / np.log2(np.arange(2, k + 2))
    ideal = discounts[: min(k, int(np.isin(labels, list(wanted)).sum()))].sum()
    return float(relevant.mean()), float(relevant @ discounts / ideal) if ideal else 0.0


Ranker = Callable[[SimulatedReader, Reader], np.ndarray]


def method_rankers(library: MatrixPool, candidates: MatrixPool, cfg: RankConfig) -> dict[str, Ranker]:
    """A ranker per method (the registry's, then the baseline): reader -> the top-K candidate positions."""
    rankers: dict[str, Ranker] = {
        name: (lambda _, r, m=method: m.rank(r, candidates, cfg, K)[1]) for name, method in RECOMMENDERS.items()
    }
    rankers[BASELINE] = lambda s, _: arxiv_sanity_svm(library, candidates, s.liked, K)
    return rankers


def reader_of(library: MatrixPool, simulated: SimulatedReader) -> Reader:
    none = Examples(np.zeros((0, library.embeddings.shape[1]), np.float32), [])
    return Reader(library.examples(simulated.liked), none, library.examples(simulated.negatives))


def evaluate_readers(
    rankers: dict[str, Ranker], readers: list[SimulatedReader], library: MatrixPool, labels: np.ndarray
) -> dict:
    """P@10 and nDCG@10 with 95% intervals and the mean ms to rank for one reader, per method; and each method's
    P@10 less the baseline's and the centroid's, reader by reader (paired), with 95% intervals."""
    features = [reader_of(library, r) for r in readers]
    report, p10 = {}, {}
    for name, ranker in rankers.items():
        start = time.perf_counter()
        found = [ranker(s, r) for s, r in zip(readers, features, strict=True)]
        ms = 1000 * (time.perf_counter() - start) / max(len(readers), 1)
        per_reader = np.array([ranking_quality(f, labels, s.categories) for f, s in zip(found, readers, strict=True)])
        report[name], p10[name] = {"readers": len(readers)}, per_reader[:, 0]
        with_interval(report[name], "p@10", per_reader[:, 0])
        with_interval(report[name], "ndcg@10", per_reader[:, 1])
        report[name]["ms"] = round(ms, 2)
    for name in RECOMMENDERS:
        with_interval(report[name], "p@10_minus_svm", p10[name] - p10[BASELINE])
        with_interval(report[name], "p@10_minus_centroid", p10[name] - p10["centroid"])
    return report


@dataclass(frozen=True)
class Simulation:
    sizes: Sequence[int]
    interests: Sequence[int]
    readers: int
    negatives: int
    seed: int


def simulate_setting(
    library: MatrixPool, candidates: MatrixPool, cfg: RankConfig, sim: Simulation, size: int, interests: int
) -> dict | None:
    """The row of one (library size, interests): each method's quality on its simulated readers."""
    readers = simulate_readers(library.labels, candidates.labels, size, interests, sim.readers, sim.seed, sim.negatives)
    if not readers:
        return None
    report = evaluate_readers(method_rankers(library, candidates, cfg), readers, library, candidates.labels)
    return {"library": size, "interests": interests, **report}


def simulate(library: MatrixPool, candidates: MatrixPool, cfg: RankConfig, sim: Simulation) -> list[dict]:
    """One row per (library size, interests) that has readers."""
    settings = [(size, m) for size in sim.sizes for m in sim.interests if m <= size]
    progress = tqdm(settings, desc=f"readers over {len(candidates)} papers", unit="setting")
    rows = (simulate_setting(library, candidates, cfg, sim, size, m) for size, m in progress)
    return [row for row in rows if row is not None]


def best_method(rows: list[dict]) -> tuple[str, dict[str, float]]:
    """The registry's method with the best P@10 over every reader of `rows` (each row weighted by its readers)."""
    if not rows:
        raise PipelineError("no simulated reader: the splits share no category with enough train papers")
    means = {
        name: round(sum(r[name]["p@10"] * r[name]["readers"] for r in rows) / sum(r[name]["readers"] for r in rows), 4)
        for name in RECOMMENDERS
    }
    return max(means, key=means.get), means


def best_by_shape(rows: list[dict], overall: str) -> list[ShapeChoice]:
    """Per (library size, interests) row of val readers, the registry's method with the best P@10; a tie goes to
    the `overall` best."""
    return [
        ShapeChoice(
            library=row["library"],
            interests=row["interests"],
            method=max(RECOMMENDERS, key=lambda name: (row[name]["p@10"], name == overall)),
        )
        for row in rows
    ]


def served_by_shape(rows: list[dict], spec: RecommendSpec) -> list[dict]:
    """Each (test) row with the method the spec serves its shape (`served`), and whether that method's P@10
    interval reaches the best method's P@10 in the row (`served_within_best`)."""
    marked = []
    for row in rows:
        served = spec.method_for(row["library"], row["interests"])
        best = max(row[name]["p@10"] for name in RECOMMENDERS)
        marked.append({**row, "served": served, "served_within_best": row[served]["p@10_hi"] >= best})
    return marked


def p10_curve(rows: list[dict]) -> pd.DataFrame:
    """P@10 per library size, interests and method (the baseline's too): the plot `dvc plots` draws."""
    curve = [
        {"library": r["library"], "interests": r["interests"], "method": m, "p@10": v["p@10"]}
        for r in rows
        for m, v in r.items()
        if isinstance(v, dict)
    ]
    return pd.DataFrame(curve, columns=["library", "interests", "method", "p@10"])


def newest(ids: np.ndarray, count: int) -> np.ndarray:
    """Positions of the `count` newest papers by arXiv id (the id's year and month, then its number)."""
    return np.array(sorted(range(len(ids)), key=lambda i: id_order(ids[i]))[-count:])
