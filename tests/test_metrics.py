"""Retrieval metrics on a hand-computed example."""

from __future__ import annotations

import numpy as np
import pytest

from arxiv_embed.metrics import mrr_at_k, neighbour_labels, precision_at_k, relevance, retrieval_report


def test_precision_and_mrr_by_hand() -> None:
    results = np.array([["a", "b", "a"], ["c", "c", "b"], ["a", "a", "a"]])
    rel = relevance(["a", "b", "c"], results)
    # query a: hits at 1 and 3; query b: hit at 3; query c: no hit
    assert precision_at_k(rel, 1) == pytest.approx(1 / 3)
    assert precision_at_k(rel, 3) == pytest.approx((2 + 1 + 0) / 9)
    assert mrr_at_k(rel, 3) == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert mrr_at_k(rel, 2) == pytest.approx(1 / 3)
    assert retrieval_report(["a", "b", "c"], results, [1, 3]) == {"p@1": 0.3333, "p@3": 0.3333, "mrr@3": 0.4444}


def test_query_paper_is_removed_from_its_own_results() -> None:
    corpus_ids = ["p0", "p1", "p2", "p3"]
    corpus_labels = ["x", "y", "x", "y"]
    positions = np.array([[0, 2, 1], [3, 1, 0], [2, -1, -1]])
    labels = neighbour_labels(["p0", "p1", "p9"], positions, corpus_ids, corpus_labels, k=2)
    assert labels[0].tolist() == ["x", "y"]  # p0 itself dropped: p2 (x), p1 (y)
    assert labels[1].tolist() == ["y", "x"]  # p1 dropped: p3 (y), p0 (x)
    assert labels[2].tolist() == ["x", None]  # fewer results than k: the gap never counts as relevant
    assert precision_at_k(relevance(["x", "y", "x"], labels), 2) == pytest.approx(3 / 6)
