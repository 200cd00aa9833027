"""Fitting the served classifier: linear models on embeddings and on TF-IDF, blended and calibrated on val.

The embedding model learns from the embedded train split, the TF-IDF model from the labelled pool (out of core).
Each blend weight (of the embedding model) gets the temperature of least val log loss, and the served weight is
the one whose calibrated blend has the least val log loss: a proper scoring rule, so the choice rewards accurate
and calibrated probabilities at once, and on 1,500 val papers it is steadier than accuracy, which moves by a few
papers between neighbouring weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arxiv_embed.classify.classifier import (
    BLEND_WEIGHTS,
    ClassifierConfig,
    HybridClassifier,
    HybridSpec,
    LearnedFrom,
    LinearClassifier,
    fit_temperature,
    log_loss,
    temperature_scale,
)
from arxiv_embed.classify.text_learner import fit_text_model
from arxiv_embed.classify.tfidf import TfidfConfig, TfidfFeatures
from arxiv_embed.data.pool import PoolReader
from arxiv_embed.data.split_vectors import SplitVectors
from arxiv_embed.data.text import build_texts
from arxiv_embed.metrics import expected_calibration_error


def accuracy(y: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> float:
    return float((classes[np.argmax(probs, axis=1)] == y).mean())


@dataclass(frozen=True)
class BlendScore:
    """The calibrated blend at one weight, on val."""

    temperature: float
    log_loss: float
    accuracy: float


@dataclass(frozen=True)
class FittedClassifier:
    hybrid: HybridClassifier
    spec: HybridSpec
    blends: dict[float, BlendScore]  # at each weight tried
    report: dict  # what was chosen, what each side learned from, and how the blend scores on val


def score_blends(y: np.ndarray, classes: np.ndarray, probs: tuple[np.ndarray, np.ndarray]) -> dict[float, BlendScore]:
    """Each weight's blend of the (embedding, TF-IDF) probabilities, with its own temperature, scored on val."""
    scores = {}
    for weight in BLEND_WEIGHTS:
        blended = HybridClassifier.blend(*probs, weight)
        temperature = fit_temperature(y, classes, blended)
        calibrated = temperature_scale(blended, temperature)
        scores[weight] = BlendScore(temperature, log_loss(y, classes, calibrated), accuracy(y, classes, calibrated))
    return scores


def fit_classifier(
    train: SplitVectors, val: SplitVectors, pool: PoolReader, field: str, cfg: ClassifierConfig, tfidf: TfidfConfig
) -> FittedClassifier:
    """The hybrid classifier, its blend weight and temperature chosen on `val`."""
    x_val, t_val, y_val = val.vectors, val.texts(field), val.labels
    embedding = LinearClassifier.fit(cfg.estimator(), train.vectors, train.labels)
    classes = np.union1d(pool.categories(), embedding.classes)
    chunks = ((build_texts(p["title"], p["abstract"], field), p["primary_category"].to_numpy()) for p in pool.frames())
    text = fit_text_model(chunks, classes, tfidf)
    hybrid = HybridClassifier(embedding, text.classifier, TfidfFeatures.from_vectorizer(text.vectorizer), weight=1.0)
    val_probs = hybrid.embedding_proba(x_val), hybrid.text_proba(t_val)
    blends = score_blends(y_val, hybrid.classes, val_probs)
    hybrid.weight = min(BLEND_WEIGHTS, key=lambda w: (blends[w].log_loss, -w))  # ties: more embedding
    hybrid.temperature = blends[hybrid.weight].temperature
    blended = HybridClassifier.blend(*val_probs, hybrid.weight)
    calibrated = temperature_scale(blended, hybrid.temperature)
    spec = HybridSpec(
        weight=hybrid.weight,
        temperature=hybrid.temperature,
        embedding=LearnedFrom(train_papers=len(train.labels), classes=len(embedding.classes)),
        tfidf=LearnedFrom(train_papers=text.papers, classes=len(hybrid.classes)),
        val_log_loss={str(w): round(b.log_loss, 4) for w, b in blends.items()},
    )
    report = {
        "train_papers": len(train.labels),
        "tfidf_train_papers": text.papers,
        "embedding_classes": len(embedding.classes),
        "classes": len(hybrid.classes),
        "embedding_weight": hybrid.weight,
        "temperature": hybrid.temperature,
        "val_accuracy": round(blends[hybrid.weight].accuracy, 4),
        "val_embedding_accuracy": round(blends[1.0].accuracy, 4),
        "val_tfidf_accuracy": round(blends[0.0].accuracy, 4),
        "val_log_loss": round(log_loss(y_val, hybrid.classes, calibrated), 4),
        "val_log_loss_uncalibrated": round(log_loss(y_val, hybrid.classes, blended), 4),
        "val_ece": expected_calibration_error(calibrated, hybrid.classes, y_val),
        "val_ece_uncalibrated": expected_calibration_error(blended, hybrid.classes, y_val),
        "tfidf_features": hybrid.features.size,
        "tfidf_scratch_mib": round(text.scratch_bytes / 2**20),
    }
    return FittedClassifier(hybrid, spec, blends, report)
