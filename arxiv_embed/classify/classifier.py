"""Logistic-regression classifiers stored as plain arrays (no pickle), scored with numpy.

The served classifier is a hybrid: the embedding model's and the TF-IDF model's probabilities blended with a
weight chosen on the validation split. With enough training papers per category TF-IDF classifies better than
embeddings, and the blend keeps whichever helps.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import PositiveFloat

from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, params_section

CLASSIFIER_FILE = "classifier.npz"  # on embeddings
TEXT_CLASSIFIER_FILE = "text_classifier.npz"  # on TF-IDF features
HYBRID_FILE = "hybrid.json"
BLEND_WEIGHTS = tuple(round(w, 2) for w in np.linspace(0, 1, 21))  # of the embedding model, tried on val


@params_section
class ClassifierConfig:
    """The `classifier` section: the logistic regression on embeddings (its TF-IDF half reads `tfidf`)."""

    C: PositiveFloat
    max_iter: Count
    seed: int


@dataclass
class LinearClassifier:
    """softmax(x @ coef.T + intercept) over `classes`; what scikit-learn's LogisticRegression computes."""

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    @classmethod
    def fit(cls, x, y: np.ndarray, c: float, max_iter: int, seed: int = 0) -> LinearClassifier:
        """Fit with scikit-learn on dense or sparse `x`, then keep only the arrays."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=max_iter, random_state=seed).fit(x, y)
        coef, intercept = model.coef_, model.intercept_
        if len(model.classes_) == 2:  # binary: sigmoid(z) == softmax([-z/2, z/2])
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        return cls(coef.astype(np.float32), intercept.astype(np.float32), model.classes_.astype(str))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(x @ self.coef.T + self.intercept)

    def predict_proba_sparse(self, rows: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Probabilities for sparse rows given as (columns, values), without building a matrix."""
        if not rows:
            return np.zeros((0, len(self.classes)), np.float32)
        return softmax(np.stack([self.coef[:, cols] @ vals for cols, vals in rows]) + self.intercept)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes[np.argmax(x @ self.coef.T + self.intercept, axis=1)]

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, coef=self.coef, intercept=self.intercept, classes=self.classes)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinearClassifier:
        with np.load(Path(path), allow_pickle=False) as data:
            return cls(data["coef"], data["intercept"], data["classes"])


def softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)


@dataclass
class HybridClassifier:
    """weight * P(embedding model) + (1 - weight) * P(TF-IDF model), over the same classes."""

    embedding: LinearClassifier
    text: LinearClassifier
    features: TfidfFeatures
    weight: float

    @property
    def classes(self) -> np.ndarray:
        return self.embedding.classes

    def text_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.text.predict_proba_sparse([self.features.transform(t) for t in texts])

    def predict_proba(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        return self.blend(self.embedding.predict_proba(vectors), self.text_proba(texts), self.weight)

    def predict(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        return self.classes[np.argmax(self.predict_proba(vectors, texts), axis=1)]

    @staticmethod
    def blend(embedding_probs: np.ndarray, text_probs: np.ndarray, weight: float) -> np.ndarray:
        return weight * embedding_probs + (1 - weight) * text_probs

    def save(self, folder: Path, **record) -> None:
        self.embedding.save(folder / CLASSIFIER_FILE)
        self.text.save(folder / TEXT_CLASSIFIER_FILE)
        self.features.save(folder)
        (folder / HYBRID_FILE).write_text(json.dumps({"weight": self.weight, **record}, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> HybridClassifier:
        embedding = LinearClassifier.load(folder / CLASSIFIER_FILE)
        text = LinearClassifier.load(folder / TEXT_CLASSIFIER_FILE)
        if not np.array_equal(embedding.classes, text.classes):
            raise PipelineError(f"{folder}: the embedding and TF-IDF classifiers know different classes")
        weight = json.loads((folder / HYBRID_FILE).read_text())["weight"]
        return cls(embedding, text, TfidfFeatures.load(folder), weight)
