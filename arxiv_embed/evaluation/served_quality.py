"""Quality of a loaded bundle on labelled queries, measured on the served path: retrieval in every search mode,
the served classifier and its parts, and a vote of the nearest neighbours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from arxiv_embed.bundle import Bundle
from arxiv_embed.data.shards import iter_batches
from arxiv_embed.metrics import (
    classification_report,
    expected_calibration_error,
    neighbour_labels,
    retrieval_report,
)
from arxiv_embed.search.modes import SEARCH_MODES


def category_lists(corpus: Path, corpus_ids: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Every indexed paper's categories (cross-lists included), in the served index's order; a harvested paper
    that the sharded `corpus` does not hold counts its primary category."""
    table = pa.concat_tables(iter_batches(corpus, ["id", "categories"]))
    by_id = pd.Series(
        table["categories"].to_numpy(zero_copy_only=False), index=table["id"].to_numpy(zero_copy_only=False)
    )
    lists = by_id.reindex(corpus_ids).to_numpy()
    harvested = pd.isna(lists)
    lists[harvested] = primary[harvested]
    return lists


def knn_vote(neighbours: np.ndarray) -> np.ndarray:
    """The most frequent category among each query's neighbours; ties go to the one ranked first."""
    votes = []
    for row in neighbours:
        labels = [label for label in row if label is not None]
        counts = {label: labels.count(label) for label in labels}
        votes.append(max(labels, key=lambda label: (counts[label], -labels.index(label))) if labels else "")
    return np.array(votes, dtype=object)


@dataclass(frozen=True)
class Queries:
    """Labelled query papers, encoded as the server encodes them."""

    ids: Sequence[str]
    texts: list[str]
    vectors: np.ndarray
    labels: np.ndarray  # primary categories
    categories: list[str]  # space-separated, cross-lists included


@dataclass(frozen=True)
class ModeResult:
    report: dict
    positions: np.ndarray  # best first, k + 1 per query (the query paper may be among them)
    neighbours: np.ndarray  # categories of the top k, the query paper removed


def search_quality(bundle: Bundle, queries: Queries, ks: Sequence[int], corpus: Path) -> dict[str, ModeResult]:
    """P@k (primary and any shared category) and MRR of every search mode, each query paper excluded."""
    k_max = max(ks)
    corpus_ids, corpus_categories = bundle.papers.column("id"), bundle.papers.column("category")
    corpus_lists = category_lists(corpus, corpus_ids, corpus_categories)
    results = {}
    for mode in SEARCH_MODES:
        _, positions = bundle.searcher.run(mode, queries.vectors, queries.texts, k_max + 1)
        neighbours = neighbour_labels(queries.ids, positions, corpus_ids, corpus_categories, k_max)
        cross_listed = neighbour_labels(queries.ids, positions, corpus_ids, corpus_lists, k_max)
        report = retrieval_report(queries.labels, neighbours, ks, queries.categories, cross_listed)
        results[mode] = ModeResult(report, positions, neighbours)
    return results


@dataclass(frozen=True)
class ClassifierQuality:
    report: dict  # accuracy with its interval, macro-F1, ECE, and the same of each part and the kNN vote
    classes: np.ndarray
    probs: np.ndarray  # the served (calibrated) probabilities, a column a class
    predicted: np.ndarray
    per_category_f1: dict[str, float]


def classifier_quality(bundle: Bundle, queries: Queries, dense_neighbours: np.ndarray) -> ClassifierQuality:
    """The served classifier's accuracy and calibration, beside its embedding and TF-IDF parts and a kNN vote."""
    classifier, labels = bundle.classifier, queries.labels
    probs = classifier.predict_proba(queries.vectors, queries.texts)
    predicted = classifier.classes[np.argmax(probs, axis=1)]
    served = classification_report(labels, predicted)
    report = {k: v for k, v in served.items() if k.startswith("accuracy")}
    report["macro_f1"] = served["macro_f1"]
    report["ece"] = expected_calibration_error(probs, classifier.classes, labels)
    raw = classifier.blended_proba(queries.vectors, queries.texts)
    report["ece_uncalibrated"] = expected_calibration_error(raw, classifier.classes, labels)
    parts = {
        "embedding": classifier.embedding.predict(queries.vectors),
        "tfidf": classifier.classes[np.argmax(classifier.text_proba(queries.texts), axis=1)],
        "knn_vote": knn_vote(dense_neighbours),
    }
    for name, guess in parts.items():
        scores = classification_report(labels, guess)
        report.update({f"{name}_{k}": v for k, v in scores.items() if k.startswith("accuracy")})
        report[f"{name}_macro_f1"] = scores["macro_f1"]
    report["embedding_weight"], report["temperature"] = classifier.weight, classifier.temperature
    return ClassifierQuality(report, classifier.classes, probs, predicted, served["per_category_f1"])
