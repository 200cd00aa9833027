"""Linear classifiers stored as plain arrays (no pickle), scored with numpy.

The served classifier is a hybrid: the embedding model's and the TF-IDF model's probabilities blended with a
weight chosen on the validation split, then temperature-scaled on the same split so that a probability of 0.8
is right about 80% of the time (a blend of two softmaxes spreads mass over classes and reads under-confident).
The two models learn from different papers: the embedding model from the embedded train split, the TF-IDF model
from the labelled pool, which is larger and may hold categories the corpus lacks; the hybrid's classes are the
TF-IDF model's, and the embedding model gives the classes it never saw no probability.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, PositiveFloat

from arxiv_embed.classify.tfidf import IDF_FILE, TERMS_FILE, TfidfFeatures
from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, params_section
from arxiv_embed.spec_file import SpecFile

CLASSIFIER_FILE = "classifier.npz"  # on embeddings
TEXT_CLASSIFIER_FILE = "text_classifier.npz"  # on TF-IDF features
HYBRID_FILE = "hybrid.json"
CLASSIFIER_FILES = (CLASSIFIER_FILE, TEXT_CLASSIFIER_FILE, TERMS_FILE, IDF_FILE, HYBRID_FILE)  # a saved hybrid
BLEND_WEIGHTS = tuple(round(w, 2) for w in np.linspace(0, 1, 21))  # of the embedding model, tried on val


@params_section
class ClassifierConfig:
    """The `classifier` section: the logistic regression on embeddings (its TF-IDF half reads `tfidf`), and how
    many papers of the labelled pool the TF-IDF half learns from."""

    C: PositiveFloat
    max_iter: Count
    train_papers: Count | Literal["all"]  # of the pool, a random sample; all: every labelled paper outside val/test
    seed: int

    @property
    def pool_papers(self) -> int | None:
        return None if self.train_papers == "all" else self.train_papers

    def estimator(self):
        """Multinomial L-BFGS: exact and quick on dense vectors of a few hundred dimensions."""
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.seed)


@dataclass
class LinearClassifier:
    """softmax(x @ coef.T + intercept) over `classes`; what scikit-learn's LogisticRegression computes."""

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    @classmethod
    def fit(cls, estimator, x, y: np.ndarray) -> LinearClassifier:
        """Fit an unfitted scikit-learn linear classifier on dense or sparse `x`, then keep only the arrays."""
        return cls.of(estimator.fit(x, y))

    @classmethod
    def of(cls, model) -> LinearClassifier:
        """The arrays of a fitted scikit-learn linear classifier.

        Its scores are read as softmax logits: exact for multinomial logistic regression, and for one-vs-rest
        models a monotone map of their ranking that the hybrid's temperature then calibrates.
        """
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


def log_loss(y: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-probability of the true category."""
    true = probs[np.arange(len(y)), np.searchsorted(classes, y)]
    return float(-np.log(np.clip(true, 1e-12, None)).mean())


def temperature_scale(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log(p) / T): T < 1 sharpens, T > 1 flattens; the ranking of classes never changes."""
    return softmax(np.log(np.clip(probs, 1e-12, None)) / temperature)


def fit_temperature(y: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> float:
    """The temperature that minimises the log loss of `probs` on labelled papers (val)."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        lambda log_t: log_loss(y, classes, temperature_scale(probs, float(np.exp(log_t)))),
        bounds=(np.log(0.02), np.log(20.0)),
        method="bounded",
    )
    return round(float(np.exp(result.x)), 4)


class LearnedFrom(BaseModel):
    """What one side of the hybrid learned from."""

    train_papers: int
    classes: int


class HybridSpec(SpecFile):
    """hybrid.json, which the fit_classifier stage writes and a bundle carries: the blend, its temperature, what
    each side learned from, and the calibrated blend's val log loss at each embedding weight (the choice)."""

    FILE = HYBRID_FILE
    weight: float  # of the embedding model
    temperature: float
    embedding: LearnedFrom
    tfidf: LearnedFrom
    val_log_loss: dict[str, float]


@dataclass
class HybridClassifier:
    """temperature_scale(weight * P(embedding model) + (1 - weight) * P(TF-IDF model)), over the TF-IDF model's
    classes, of which the embedding model's are a subset."""

    embedding: LinearClassifier
    text: LinearClassifier
    features: TfidfFeatures
    weight: float
    temperature: float = 1.0

    def __post_init__(self) -> None:
        unknown = sorted(set(self.embedding.classes) - set(self.classes))
        if unknown:
            raise PipelineError(f"the TF-IDF classifier lacks classes the embedding classifier knows: {unknown[:5]}")
        self._columns = np.searchsorted(self.classes, self.embedding.classes)  # both sorted, as scikit-learn's

    @property
    def classes(self) -> np.ndarray:
        return self.text.classes

    def embedding_proba(self, vectors: np.ndarray) -> np.ndarray:
        """The embedding model's probabilities over the hybrid's classes (0 for those it never saw)."""
        probs = np.zeros((len(vectors), len(self.classes)), np.float32)
        probs[:, self._columns] = self.embedding.predict_proba(vectors)
        return probs

    def text_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.text.predict_proba_sparse([self.features.transform(t) for t in texts])

    def blended_proba(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The blend before calibration (evaluate reports its calibration error beside the served one's)."""
        return self.blend(self.embedding_proba(vectors), self.text_proba(texts), self.weight)

    def predict_proba(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """The served, calibrated probabilities."""
        return temperature_scale(self.blended_proba(vectors, texts), self.temperature)

    def predict(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        return self.classes[np.argmax(self.predict_proba(vectors, texts), axis=1)]

    @staticmethod
    def blend(embedding_probs: np.ndarray, text_probs: np.ndarray, weight: float) -> np.ndarray:
        return weight * embedding_probs + (1 - weight) * text_probs

    def save(self, folder: Path, spec: HybridSpec) -> None:
        self.embedding.save(folder / CLASSIFIER_FILE)
        self.text.save(folder / TEXT_CLASSIFIER_FILE)
        self.features.save(folder)
        spec.save(folder)

    @classmethod
    def load(cls, folder: Path) -> HybridClassifier:
        embedding = LinearClassifier.load(folder / CLASSIFIER_FILE)
        text = LinearClassifier.load(folder / TEXT_CLASSIFIER_FILE)
        spec = HybridSpec.load(folder)
        return cls(embedding, text, TfidfFeatures.load(folder), spec.weight, spec.temperature)
