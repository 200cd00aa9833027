"""Stage fit_classifier: linear models on embeddings and on TF-IDF, blended and calibrated on val.

Both models learn from the whole train split (every labelled corpus paper outside val and test); the blend weight
(of the embedding model) is the one with the best accuracy on val, and the temperature the one with the lowest
val log loss. This stage reports what it chose on val; the served classifier's test accuracy and calibration are
the evaluate stage's, measured on the served path (queries encoded as the server encodes them).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from arxiv_embed.atomic import atomic_path
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
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.encode.vectors import load_vectors
from arxiv_embed.evaluation.metrics import expected_calibration_error
from arxiv_embed.layout import METRICS_DIR, MODELS_DIR, adapted_path, split_path
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    classifier: ClassifierConfig
    tfidf: TfidfConfig
    text: TextConfig


def labelled(split: str, field: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Embeddings, texts and primary categories of a split, aligned by id."""
    ids, vectors = load_vectors(adapted_path(split))
    papers = pd.read_parquet(split_path(split)).set_index("id").loc[ids]
    return vectors, build_texts(papers["title"], papers["abstract"], field), papers["primary_category"].to_numpy()


def accuracy(y: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> float:
    return float((classes[np.argmax(probs, axis=1)] == y).mean())


def main(params: Params) -> dict:
    cfg, tfidf = params.classifier, params.tfidf
    (x_train, t_train, y_train), (x_val, t_val, y_val) = (labelled(s, params.text.field) for s in ("train", "val"))
    embedding = LinearClassifier.fit(cfg.estimator(), x_train, y_train)
    vectorizer = make_vectorizer(tfidf)
    text = LinearClassifier.fit(tfidf.estimator(), vectorizer.fit_transform(t_train), y_train)
    hybrid = HybridClassifier(embedding, text, TfidfFeatures.from_vectorizer(vectorizer), weight=1.0)
    val_probs = embedding.predict_proba(x_val), hybrid.text_proba(t_val)
    val_accuracy = {w: accuracy(y_val, hybrid.classes, HybridClassifier.blend(*val_probs, w)) for w in BLEND_WEIGHTS}
    hybrid.weight = max(BLEND_WEIGHTS, key=lambda w: (val_accuracy[w], w))  # ties: more embedding
    blended = HybridClassifier.blend(*val_probs, hybrid.weight)
    hybrid.temperature = fit_temperature(y_val, hybrid.classes, blended)
    calibrated = temperature_scale(blended, hybrid.temperature)
    with atomic_path(MODELS_DIR / "classifier", is_dir=True) as tmp:
        hybrid.save(tmp, val_accuracy={str(w): round(a, 4) for w, a in val_accuracy.items()})
    with atomic_path(METRICS_DIR / "classifier_blend.csv") as tmp:
        pd.DataFrame(val_accuracy.items(), columns=["embedding_weight", "val_accuracy"]).to_csv(tmp, index=False)
    return {
        "train_papers": len(y_train),
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


if __name__ == "__main__":
    run_stage("classifier", main, Params)
