"""Fitting the served classifier: linear models on embeddings and on TF-IDF, blended and calibrated on val.

Both models learn from the whole train split; the blend weight (of the embedding model) is the one with the best
accuracy on val, and the temperature the one with the lowest val log loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arxiv_embed.classify.classifier import (
    BLEND_WEIGHTS,
    ClassifierConfig,
    HybridClassifier,
    LinearClassifier,
    fit_temperature,
    log_loss,
    temperature_scale,
)
from arxiv_embed.classify.tfidf import TfidfConfig, TfidfFeatures, make_vectorizer
from arxiv_embed.data.split_vectors import SplitVectors
from arxiv_embed.metrics import expected_calibration_error


def accuracy(y: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> float:
    return float((classes[np.argmax(probs, axis=1)] == y).mean())


@dataclass(frozen=True)
class FittedClassifier:
    hybrid: HybridClassifier
    val_accuracy: dict[float, float]  # of the blend at each embedding weight
    report: dict  # what was chosen, and how it scores on val


def fit_classifier(
    train: SplitVectors, val: SplitVectors, field: str, cfg: ClassifierConfig, tfidf: TfidfConfig
) -> FittedClassifier:
    """The hybrid classifier, its blend weight and temperature chosen on `val`."""
    x_val, t_train, t_val, y_val = val.vectors, train.texts(field), val.texts(field), val.labels
    embedding = LinearClassifier.fit(cfg.estimator(), train.vectors, train.labels)
    vectorizer = make_vectorizer(tfidf)
    text = LinearClassifier.fit(tfidf.estimator(), vectorizer.fit_transform(t_train), train.labels)
    hybrid = HybridClassifier(embedding, text, TfidfFeatures.from_vectorizer(vectorizer), weight=1.0)
    val_probs = embedding.predict_proba(x_val), hybrid.text_proba(t_val)
    val_accuracy = {w: accuracy(y_val, hybrid.classes, HybridClassifier.blend(*val_probs, w)) for w in BLEND_WEIGHTS}
    hybrid.weight = max(BLEND_WEIGHTS, key=lambda w: (val_accuracy[w], w))  # ties: more embedding
    blended = HybridClassifier.blend(*val_probs, hybrid.weight)
    hybrid.temperature = fit_temperature(y_val, hybrid.classes, blended)
    calibrated = temperature_scale(blended, hybrid.temperature)
    report = {
        "train_papers": len(train.labels),
        "embedding_weight": hybrid.weight,
        "temperature": hybrid.temperature,
        "val_accuracy": round(val_accuracy[hybrid.weight], 4),
        "val_embedding_accuracy": round(val_accuracy[1.0], 4),
        "val_tfidf_accuracy": round(val_accuracy[0.0], 4),
        "val_log_loss": round(log_loss(y_val, hybrid.classes, calibrated), 4),
        "val_log_loss_uncalibrated": round(log_loss(y_val, hybrid.classes, blended), 4),
        "val_ece": expected_calibration_error(calibrated, hybrid.classes, y_val),
        "val_ece_uncalibrated": expected_calibration_error(blended, hybrid.classes, y_val),
        "classes": len(hybrid.classes),
        "tfidf_features": hybrid.features.size,
    }
    return FittedClassifier(hybrid, val_accuracy, report)
