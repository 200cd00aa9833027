"""Retrieval metrics on a hand-computed example."""

from __future__ import annotations

import numpy as np
import pytest

from arxiv_embed.metrics import (
    bootstrap_interval,
    mrr_at_k,
    neighbour_labels,
    precision_at_k,
    relevance,
    retrieval_report,
    shared_category,
)


def test_precision_and_mrr_by_hand() -> None:
    results = np.array([["a", "b", "a"], ["c", "c", "b"], ["a", "a", "a"]])
    rel = relevance(["a", "b", "c"], results)
    # query a: hits at 1 and 3; query b: hit at 3; query c: no hit
    assert precision_at_k(rel, 1) == pytest.approx(1 / 3)
    assert precision_at_k(rel, 3) == pytest.approx((2 + 1 + 0) / 9)
    assert mrr_at_k(rel, 3) == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert mrr_at_k(rel, 2) == pytest.approx(1 / 3)
    report = retrieval_report(["a", "b", "c"], results, [1, 3])
    assert {k: report[k] for k in ("p@1", "p@3", "mrr@3")} == {"p@1": 0.3333, "p@3": 0.3333, "mrr@3": 0.4444}
    assert report["p@1_lo"] <= report["p@1"] <= report["p@1_hi"]


def test_bootstrap_interval_narrows_with_more_queries() -> None:
    rng = np.random.default_rng(0)
    small, large = (rng.random(n) < 0.4 for n in (100, 10_000))
    (lo_s, hi_s), (lo_l, hi_l) = bootstrap_interval(small.astype(float)), bootstrap_interval(large.astype(float))
    assert lo_s < 0.4 < hi_s and lo_l < 0.4 < hi_l
    assert hi_l - lo_l < 0.25 * (hi_s - lo_s)  # width shrinks like 1/sqrt(n): 10x here
    assert hi_l - lo_l == pytest.approx(2 * 1.96 * (0.4 * 0.6 / 10_000) ** 0.5, rel=0.15)


def test_cross_listed_papers_count_when_they_share_any_category() -> None:
    results = np.array([["cs.CL cs.LG", "math.AP", None], ["hep-th", "gr-qc hep-th", "astro-ph.CO"]], dtype=object)
    shared = shared_category(["cs.LG stat.ML", "hep-th"], results)
    assert shared.tolist() == [[True, False, False], [True, True, False]]
    report = retrieval_report(
        ["cs.LG", "hep-th"],
        np.array([["cs.CL", "math.AP", None], ["hep-th", "gr-qc", "x"]]),
        [3],
        ["cs.LG stat.ML", "hep-th"],
        results,
    )
    assert report["p@3"] == pytest.approx(1 / 6, abs=1e-4) and report["p@3_any_category"] == pytest.approx(0.5)


def test_query_paper_is_removed_from_its_own_results() -> None:
    corpus_ids = ["p0", "p1", "p2", "p3"]
    corpus_labels = ["x", "y", "x", "y"]
    positions = np.array([[0, 2, 1], [3, 1, 0], [2, -1, -1]])
    labels = neighbour_labels(["p0", "p1", "p9"], positions, corpus_ids, corpus_labels, k=2)
    assert labels[0].tolist() == ["x", "y"]  # p0 itself dropped: p2 (x), p1 (y)
    assert labels[1].tolist() == ["y", "x"]  # p1 dropped: p3 (y), p0 (x)
    assert labels[2].tolist() == ["x", None]  # fewer results than k: the gap never counts as relevant
    assert precision_at_k(relevance(["x", "y", "x"], labels), 2) == pytest.approx(3 / 6)
