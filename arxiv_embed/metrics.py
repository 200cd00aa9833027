"""Retrieval and classification metrics, computed the same way for every model and the TF-IDF baseline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import Field

from arxiv_embed.params import Count, params_section


@params_section
class EvaluateConfig:
    """The `evaluate` section: the cut-offs k of P@k (for the served bundle and the TF-IDF baseline alike)."""

    ks: Annotated[list[Count], Field(min_length=1)]


def precision_at_k(relevant: np.ndarray, k: int) -> float:
    """Mean over queries of the share of the top-k results that are relevant.

    `relevant` is a (queries, >=k) boolean matrix: result j of query i has the query's category.
    """
    return float(relevant[:, :k].mean()) if len(relevant) else 0.0


def mrr_at_k(relevant: np.ndarray, k: int) -> float:
    """Mean reciprocal rank of the first relevant result within the top k (0 when there is none)."""
    if not len(relevant):
        return 0.0
    top = relevant[:, :k]
    first = np.argmax(top, axis=1)
    hit = top[np.arange(len(top)), first]
    return float(np.where(hit, 1.0 / (first + 1), 0.0).mean())


BOOTSTRAP_SAMPLES = 1000
# the numbers an experiment is judged by: what `dvc exp show` lists from DVCLive and a bundle's manifest carries
HEADLINE_METRICS = ("p@1", "p@10", "p@10_lo", "p@10_hi", "mrr@10", "accuracy", "accuracy_lo", "accuracy_hi", "macro_f1")


def relevance(query_labels: Sequence[str], result_labels: np.ndarray) -> np.ndarray:
    """Boolean matrix: does each result's category equal its query's category."""
    return np.asarray(result_labels) == np.asarray(query_labels)[:, None]


def shared_category(query_categories: Sequence[str], result_categories: np.ndarray) -> np.ndarray:
    """Boolean matrix: does each result share any arXiv category (cross-lists included) with its query.

    Both sides are space-separated category lists, as arXiv writes them; a missing result (None) shares nothing.
    """
    rows = []
    for query, results in zip(query_categories, result_categories, strict=True):
        wanted = set(query.split())
        rows.append([bool(r) and not wanted.isdisjoint(r.split()) for r in results])
    return np.array(rows, dtype=bool).reshape(len(rows), -1)


def bootstrap_interval(per_query: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean of per-query scores, resampling queries with replacement."""
    if not len(per_query):
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = per_query[rng.integers(0, len(per_query), (BOOTSTRAP_SAMPLES, len(per_query)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


def with_interval(report: dict, name: str, per_query: np.ndarray) -> None:
    """Add `name` (the mean) and its 95% bootstrap interval as `name_lo` / `name_hi`, flat for dvc metrics."""
    report[name] = round(float(per_query.mean()), 4) if len(per_query) else 0.0
    report[f"{name}_lo"], report[f"{name}_hi"] = bootstrap_interval(per_query)


def retrieval_report(
    query_labels: Sequence[str],
    result_labels: np.ndarray,
    ks: Sequence[int],
    query_categories: Sequence[str] | None = None,
    result_categories: np.ndarray | None = None,
) -> dict:
    """P@k for each k (with 95% intervals), MRR@max(k), and P@k counting any shared category when given."""
    rel = relevance(query_labels, result_labels)
    report: dict = {}
    for k in ks:
        with_interval(report, f"p@{k}", rel[:, :k].mean(axis=1))
    report[f"mrr@{max(ks)}"] = round(mrr_at_k(rel, max(ks)), 4)
    if query_categories is not None:
        shared = shared_category(query_categories, result_categories)
        with_interval(report, f"p@{max(ks)}_any_category", shared[:, : max(ks)].mean(axis=1))
    return report


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Share of each query's exact top-k (`truth`) that an approximate search's top-k (`found`) also holds."""
    hits = [len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) / k if hits else 0.0


def classification_report(y_true: Sequence[str], y_pred: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and per-category F1."""
    from sklearn.metrics import f1_score

    labels = sorted(set(y_true))
    per_category = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    report: dict = {}
    with_interval(report, "accuracy", (np.asarray(y_true) == np.asarray(y_pred)).astype(float))
    report["macro_f1"] = round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4)
    report["per_category_f1"] = {c: round(float(f), 4) for c, f in zip(labels, per_category, strict=True)}
    return report


CALIBRATION_BINS = 15


def reliability(probs: np.ndarray, classes: np.ndarray, y_true: Sequence[str]) -> list[dict]:
    """Top-1 confidence against accuracy in equal-width confidence bins (the reliability diagram's points)."""
    confidence = probs.max(axis=1)
    correct = classes[probs.argmax(axis=1)] == np.asarray(y_true)
    bins = np.minimum((confidence * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    rows = []
    for b in range(CALIBRATION_BINS):
        inside = bins == b
        if inside.any():
            rows.append(
                {
                    "confidence": round(float(confidence[inside].mean()), 4),
                    "accuracy": round(float(correct[inside].mean()), 4),
                    "papers": int(inside.sum()),
                }
            )
    return rows


def expected_calibration_error(probs: np.ndarray, classes: np.ndarray, y_true: Sequence[str]) -> float:
    """Paper-weighted mean gap between confidence and accuracy over the reliability bins."""
    rows = reliability(probs, classes, y_true)
    total = sum(r["papers"] for r in rows)
    return round(sum(r["papers"] * abs(r["confidence"] - r["accuracy"]) for r in rows) / total, 4) if total else 0.0


def neighbour_labels(query_ids, positions: np.ndarray, corpus_ids, corpus_labels, k: int) -> np.ndarray:
    """Categories of each query's top-k neighbours, the query paper itself removed from its own results.

    `positions` are corpus rows ranked best first (at least k+1 per query, -1 for none).
    """
    corpus_ids, corpus_labels = np.asarray(corpus_ids), np.asarray(corpus_labels)
    valid = positions >= 0
    ids = np.where(valid, corpus_ids[positions.clip(min=0)], "")
    keep = valid & (ids != np.asarray(query_ids)[:, None])
    cols = np.argsort(~keep, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(positions, cols, axis=1)
    labels = corpus_labels[chosen.clip(min=0)].astype(object)
    labels[~np.take_along_axis(keep, cols, axis=1)] = None
    return labels


def leave_one_out_precision(vectors: np.ndarray, labels: Sequence[str], k: int = 10) -> float:
    """P@k of each vector's nearest others in the same small set (exact inner product): how well an encoder ranks
    a labelled sample, for comparing two encoders of it (k shrinks to the set's size less one)."""
    labels = np.asarray(labels)
    k = min(k, len(labels) - 1)
    if k < 1:
        return 0.0
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return validation_precision(labels, labels[top], k)


VALIDATION_K = 10  # the adapter, the int8 graph and the search modes are compared by P@10 on val


def validation_precision(query_labels: Sequence[str], neighbours: np.ndarray, k: int = VALIDATION_K) -> float:
    """P@k from the labels of each labelled query's neighbours (None: no result), to four digits: the one
    measure by which the adapter, the int8 graph and the search modes are checked or chosen on val."""
    return round(precision_at_k(relevance(query_labels, neighbours), k), 4)


def nearest_labels(queries: np.ndarray, corpus: np.ndarray, corpus_labels, k: int = VALIDATION_K) -> np.ndarray:
    """The labels of each query's k nearest corpus vectors by inner product (exact, in no particular order)."""
    top = np.argpartition(-(queries @ corpus.T), k - 1, axis=1)[:, :k]
    return np.asarray(corpus_labels)[top]


def precision_curve(query_labels: Sequence[str], result_labels: np.ndarray) -> list[dict]:
    """P@k for every k up to the number of results, for the `dvc plots` line."""
    rel = relevance(query_labels, result_labels)
    return [{"k": k, "precision": round(precision_at_k(rel, k), 4)} for k in range(1, rel.shape[1] + 1)]


def per_category_precision(query_labels: Sequence[str], result_labels: np.ndarray, k: int) -> list[dict]:
    """P@k of each category's queries, weakest first, so the hard categories are visible."""
    rel = relevance(query_labels, result_labels)[:, :k].mean(axis=1)
    labels = np.asarray(query_labels)
    rows = [{"category": c, f"p@{k}": round(float(rel[labels == c].mean()), 4)} for c in np.unique(labels)]
    return sorted(rows, key=lambda r: r[f"p@{k}"])


def cosines(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Min and mean cosine between rows of two sets of unit vectors."""
    values = np.sum(reference * candidate, axis=1)
    return {"min_cosine": float(values.min()), "mean_cosine": float(values.mean())}
