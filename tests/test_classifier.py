"""The array-only classifier reproduces scikit-learn's probabilities and survives a save/load round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from arxiv_embed.classifier import LinearClassifier


@pytest.mark.parametrize("n_classes", [2, 4])
def test_round_trip_matches_sklearn(tmp_path: Path, n_classes: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    y = np.array([f"c{i % n_classes}" for i in range(200)])
    x[np.arange(200), np.arange(200) % n_classes] += 2.0
    clf = LinearClassifier.fit(x, y, c=1.0, max_iter=500, seed=0)
    clf.save(tmp_path / "clf.npz")
    loaded = LinearClassifier.load(tmp_path / "clf.npz")
    reference = LogisticRegression(C=1.0, max_iter=500, random_state=0).fit(x, y)
    np.testing.assert_allclose(loaded.predict_proba(x), reference.predict_proba(x), atol=1e-4)
    assert (loaded.predict(x) == reference.predict(x)).all()
    assert loaded.classes.tolist() == sorted(set(y))
