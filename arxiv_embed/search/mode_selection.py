"""Choosing the served search mode: every mode of `SEARCH_MODES`, and the hybrid at each fusion weight, scored
by P@10 on val (each val paper excluded from its own results); the best weight, then the best mode, win."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from arxiv_embed.data.split_vectors import SplitVectors
from arxiv_embed.metrics import VALIDATION_K, neighbour_labels, validation_precision
from arxiv_embed.search.modes import FUSION_WEIGHTS, SEARCH_MODES, Fusion, Searcher


@dataclass(frozen=True)
class ModeChoice:
    default_mode: str  # ties go to dense
    fusion: Fusion  # the hybrid's, at the best dense weight (ties go to more dense)
    by_mode: dict[str, float]  # val P@10 of each mode, the hybrid at its best weight
    by_weight: dict[float, float]  # val P@10 of the hybrid at each dense weight
    query_ms: dict[str, float]  # per val query: one at a time for lexical and hybrid, batched for dense


@dataclass(frozen=True)
class ValQueries:
    """The val papers as queries, and the labels of the corpus they search."""

    val: SplitVectors
    texts: list[str]
    corpus_ids: np.ndarray
    corpus_labels: np.ndarray

    def precision(self, searcher: Searcher, mode: str) -> tuple[float, float]:
        """P@10 of `mode` and its milliseconds per query."""
        start = time.perf_counter()
        _, positions = searcher.run(mode, self.val.vectors, self.texts, VALIDATION_K + 1)
        ms = round((time.perf_counter() - start) * 1000 / len(self.val.ids), 3)
        labels = neighbour_labels(self.val.ids, positions, self.corpus_ids, self.corpus_labels, VALIDATION_K)
        return validation_precision(self.val.labels, labels), ms


def choose_mode(searcher: Searcher, queries: ValQueries) -> ModeChoice:
    """Score every mode and fusion weight of `searcher` on val; `searcher.fusion` gives rrf_k and candidates."""
    by_mode, query_ms = {}, {}
    for mode in SEARCH_MODES:
        if mode != "hybrid":
            by_mode[mode], query_ms[mode] = queries.precision(searcher, mode)
    by_weight = {}
    for weight in FUSION_WEIGHTS:
        fused = searcher.with_fusion(Fusion(weight, searcher.fusion.rrf_k, searcher.fusion.candidates))
        by_weight[weight], query_ms["hybrid"] = queries.precision(fused, "hybrid")
    best_weight = max(FUSION_WEIGHTS, key=lambda w: (by_weight[w], w))
    by_mode["hybrid"] = by_weight[best_weight]
    default_mode = max(SEARCH_MODES, key=lambda m: (by_mode[m], m == "dense"))
    fusion = Fusion(best_weight, searcher.fusion.rrf_k, searcher.fusion.candidates)
    return ModeChoice(default_mode, fusion, by_mode, by_weight, query_ms)
