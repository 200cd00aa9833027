"""A multinomial logistic-regression classifier stored as plain arrays (no pickle), scored with numpy."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSIFIER_FILE = "classifier.npz"


@dataclass
class LinearClassifier:
    """softmax(x @ coef.T + intercept) over `classes`; what scikit-learn's LogisticRegression computes."""

    coef: np.ndarray
    intercept: np.ndarray
    classes: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, c: float, max_iter: int, seed: int) -> LinearClassifier:
        """Fit with scikit-learn, then keep only the arrays."""
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=c, max_iter=max_iter, random_state=seed).fit(x, y)
        coef, intercept = model.coef_, model.intercept_
        if len(model.classes_) == 2:  # binary: sigmoid(z) == softmax([-z/2, z/2])
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        return cls(coef.astype(np.float32), intercept.astype(np.float32), model.classes_.astype(str))

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        logits = x @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes[np.argmax(x @ self.coef.T + self.intercept, axis=1)]

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, coef=self.coef, intercept=self.intercept, classes=self.classes)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinearClassifier:
        with np.load(Path(path), allow_pickle=False) as data:
            return cls(data["coef"], data["intercept"], data["classes"])
