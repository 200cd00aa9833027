"""The label-trained adapter: its pairs and what it learns (its ONNX graph: test_onnx.py, its stage: the pipeline)."""

from __future__ import annotations

import numpy as np
import pytest

from arxiv_embed.errors import PipelineError
from arxiv_embed.metrics import nearest_labels, validation_precision
from arxiv_embed.train.adapter import (
    AdapterConfig,
    epoch_pairs,
    initial_weight,
    train_adapter,
)

CFG = AdapterConfig(epochs=15, learning_rate=1e-2, batch_size=64, dim=None, seed=0)


def clustered(n: int, classes: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors whose class shows in a few dimensions only, drowned by noise in the rest."""
    centres = np.random.default_rng(0).normal(size=(classes, 4)) * 2  # the same classes in every call
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    x[:, :4] += centres[labels]
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.array([f"c{i}" for i in labels])


def p_at_10(queries, q_labels, corpus, c_labels) -> float:
    return validation_precision(q_labels, nearest_labels(queries, corpus, c_labels))


def test_pairs_share_a_label_and_never_pair_a_paper_with_itself() -> None:
    labels = np.array(["a", "b", "a", "c", "a", "b", "d", "d"])
    anchors, positives = epoch_pairs(labels, np.random.default_rng(0))
    assert sorted(anchors.tolist()) == [0, 1, 2, 4, 5, 6, 7]  # "c" has no partner
    assert (labels[anchors] == labels[positives]).all() and (anchors != positives).all()


def test_the_adapter_learns_the_labels_and_starts_as_identity() -> None:
    x, y = clustered(1200, 8, 32, seed=0)
    xq, yq = clustered(300, 8, 32, seed=1)  # other papers of the same classes
    assert np.array_equal(initial_weight(x, 32), np.eye(32, dtype=np.float32))
    adapter, curve = train_adapter(x, y, CFG)
    assert len(curve) == CFG.epochs and curve[-1]["loss"] < curve[0]["loss"]
    before = p_at_10(xq, yq, x, y)
    after = p_at_10(adapter.apply(xq), yq, adapter.apply(x), y)
    assert after > before + 0.1, (before, after)
    np.testing.assert_allclose(np.linalg.norm(adapter.apply(x), axis=1), 1.0, atol=1e-5)


def test_a_smaller_output_starts_from_the_principal_directions() -> None:
    x, y = clustered(400, 4, 16, seed=1)
    weight = initial_weight(x, 6)
    np.testing.assert_allclose(weight @ weight.T, np.eye(6), atol=1e-5)
    adapter, _ = train_adapter(x, y, AdapterConfig(epochs=2, learning_rate=1e-3, batch_size=64, dim=6, seed=0))
    assert adapter.apply(x).shape == (400, 6)
    with pytest.raises(PipelineError, match="adapter.dim = 20"):
        initial_weight(x, 20)
