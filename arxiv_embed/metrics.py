"""Retrieval and classification metrics, computed the same way for every model and the TF-IDF baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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


def relevance(query_labels: Sequence[str], result_labels: np.ndarray) -> np.ndarray:
    """Boolean matrix: does each result's category equal its query's category."""
    return np.asarray(result_labels) == np.asarray(query_labels)[:, None]


def retrieval_report(query_labels: Sequence[str], result_labels: np.ndarray, ks: Sequence[int]) -> dict:
    """P@k for each k and MRR@max(k), rounded for metrics files."""
    rel = relevance(query_labels, result_labels)
    report = {f"p@{k}": round(precision_at_k(rel, k), 4) for k in ks}
    report[f"mrr@{max(ks)}"] = round(mrr_at_k(rel, max(ks)), 4)
    return report


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Share of each query's exact top-k (`truth`) that an approximate search's top-k (`found`) also holds."""
    hits = [len(set(f[:k]) & set(t[:k])) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) / k if hits else 0.0


def classification_report(y_true: Sequence[str], y_pred: Sequence[str]) -> dict:
    """Accuracy, macro-F1 and per-category F1."""
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(y_true))
    per_category = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "per_category_f1": {c: round(float(f), 4) for c, f in zip(labels, per_category, strict=True)},
    }


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
