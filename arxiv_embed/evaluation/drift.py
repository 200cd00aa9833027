"""Drift of harvested papers from what the models were fitted on: three measures per harvest shard.

- category divergence: Jensen-Shannon divergence (base 2, so 0..1) of the shard's primary categories from the
  corpus's;
- confidence drop: the test split's mean top-1 classifier probability minus the shard's (the classifier is
  calibrated on val, so a drop means papers it has not learned to tell apart);
- new-topic share: the share of the shard's papers whose nearest corpus neighbour is less similar than the
  corpus's own 5th percentile (about 0.05 when new papers look like the corpus).

Each has a bar in the `drift` params; a shard over any bar marks the retrain as due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import PositiveFloat

from arxiv_embed.classify.classifier import HybridClassifier
from arxiv_embed.data.harvest import SHARD_PAPERS, SHARD_VECTORS
from arxiv_embed.data.text import build_texts
from arxiv_embed.data.vectors import load_vectors
from arxiv_embed.params import Count, Fraction, params_section
from arxiv_embed.search.index import VectorIndex

NEW_TOPIC_PERCENTILE = 5


@params_section
class DriftConfig:
    """The `drift` section: when harvested papers differ enough from the corpus that a retrain is due."""

    max_category_divergence: Fraction
    max_confidence_drop: PositiveFloat
    max_new_topic_share: Fraction  # against about 0.05 expected without drift
    reference_papers: Count  # corpus papers that set the nearest-neighbour percentile
    seed: int

    def bars(self) -> dict[str, float]:
        """Each measure's bar, by the name `shard_drift` reports it under."""
        return {
            "category_divergence": self.max_category_divergence,
            "confidence_drop": self.max_confidence_drop,
            "new_topic_share": self.max_new_topic_share,
        }


def category_divergence(shard: Sequence[str], corpus: Sequence[str]) -> float:
    """Jensen-Shannon divergence (base 2) of two samples' category shares."""
    a, b = Counter(shard), Counter(corpus)
    labels = sorted(set(a) | set(b))
    p = np.array([a[c] for c in labels], float) / max(len(shard), 1)
    q = np.array([b[c] for c in labels], float) / max(len(corpus), 1)
    m = (p + q) / 2

    def kl(x: np.ndarray) -> float:
        mask = x > 0
        return float(np.sum(x[mask] * np.log2(x[mask] / m[mask])))

    return (kl(p) + kl(q)) / 2


def nearest_similarity(index: VectorIndex, vectors: np.ndarray) -> np.ndarray:
    """Each vector's similarity to its nearest paper of the index."""
    scores, _ = index.search(vectors, 1)
    return scores[:, 0]


def corpus_threshold(index: VectorIndex, papers: int, seed: int) -> float:
    """The 5th percentile of corpus papers' similarity to their nearest other corpus paper."""
    rng = np.random.default_rng(seed)
    positions = np.sort(rng.choice(index.ntotal, size=min(papers, index.ntotal), replace=False))
    vectors = index.vectors(positions)
    scores, found = index.search(vectors, 2)
    other = np.where(found[:, 0] == positions, scores[:, 1], scores[:, 0])  # skip the paper itself
    return float(np.percentile(other, NEW_TOPIC_PERCENTILE))


def shard_drift(
    categories: Sequence[str],
    corpus_categories: Sequence[str],
    top1: np.ndarray,
    test_top1: float,
    similarity: np.ndarray,
    threshold: float,
) -> dict[str, float]:
    return {
        "category_divergence": round(category_divergence(categories, corpus_categories), 4),
        "mean_top1": round(float(top1.mean()), 4),
        "confidence_drop": round(test_top1 - float(top1.mean()), 4),
        "new_topic_share": round(float((similarity < threshold).mean()), 4),
    }


def over_bars(drift: dict[str, float], cfg: DriftConfig) -> list[str]:
    """The measures of one shard that are over their bar."""
    return [name for name, bar in cfg.bars().items() if drift[name] > bar]


@dataclass(frozen=True)
class Reference:
    """What a shard is compared with: the base index, its papers' categories, the test split's mean top-1
    probability and the corpus's own nearest-neighbour similarity percentile."""

    index: VectorIndex
    corpus_categories: list[str]
    test_top1: float
    threshold: float


def harvest_drift(
    classifier: HybridClassifier, reference: Reference, shards: Sequence[tuple[str, Path]], field: str
) -> list[dict]:
    """One row per shard with papers (deletions aside): its newest datestamp, size and the three measures."""
    rows = []
    for name, folder in shards:
        papers = pd.read_parquet(folder / SHARD_PAPERS)
        papers = papers[~papers["deleted"]]
        _, vectors = load_vectors(folder / SHARD_VECTORS)
        if not len(papers):
            continue
        top1 = classifier.predict_proba(vectors, build_texts(papers["title"], papers["abstract"], field)).max(axis=1)
        similarity = nearest_similarity(reference.index, vectors)
        categories = papers["primary_category"].tolist()
        drift = shard_drift(
            categories, reference.corpus_categories, top1, reference.test_top1, similarity, reference.threshold
        )
        rows.append({"shard": name, "newest_datestamp": papers["datestamp"].max(), "papers": len(papers), **drift})
    return rows


def drift_summary(rows: list[dict], reference: Reference, cfg: DriftConfig) -> dict:
    """The newest shard's measures, whether any is over its bar, and the paper-weighted new-topic share."""
    latest = rows[-1] if rows else None
    over = over_bars(latest, cfg) if latest else []
    weights = [r["papers"] for r in rows]
    return {
        "shards": len(rows),
        "latest": latest,
        "test_mean_top1": round(reference.test_top1, 4),
        "corpus_nn_similarity_p5": round(reference.threshold, 4),
        "over": over,
        "retrain_due": bool(over),
        "bars": cfg.bars(),
        "new_topic_share_all": round(float(np.average([r["new_topic_share"] for r in rows], weights=weights)), 4)
        if rows
        else None,
    }
