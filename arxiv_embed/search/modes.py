"""Search modes: dense (FAISS over the served vectors), lexical (TF-IDF postings) and hybrid (both, fused).

Adding a mode is one entry in `SEARCH_MODES`, which names the artifacts it reads (a bundle carries them); the
lexical_index stage scores every mode on val and records the winner as the served default, and the evaluate stage
and the server run them through the same `Searcher`, which `load_searcher` builds from a models folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pydantic import Field

from arxiv_embed.classify.tfidf import TfidfFeatures
from arxiv_embed.layout import ModelFolders
from arxiv_embed.params import Count, params_section
from arxiv_embed.search.index import VectorIndex
from arxiv_embed.search.lexical import LEXICAL_FILES, LexicalIndex
from arxiv_embed.spec_file import SpecFile

SEARCH_FILE = "search.json"  # the fusion and the default mode, chosen on val
FUSION_WEIGHTS = tuple(round(w, 2) for w in np.linspace(0.1, 0.9, 9))  # of the dense ranking, tried on val


@params_section
class LexicalConfig:
    """The `lexical` section: how hybrid search fuses the dense and the lexical rankings."""

    candidates: Count  # results each ranking contributes to the fusion
    rrf_k: Count  # reciprocal rank fusion: a result at rank r adds weight / (rrf_k + r)


@dataclass(frozen=True)
class Fusion:
    weight: float  # of the dense ranking; the lexical one gets 1 - weight
    rrf_k: int
    candidates: int


class SearchSpec(SpecFile):
    """search.json, which the lexical_index stage writes and a bundle carries: the served default mode, the fusion
    chosen on val, and each mode's val P@10."""

    FILE = SEARCH_FILE
    default_mode: str
    weight: float
    rrf_k: int
    candidates: int
    val_p_at_10: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def of(cls, fusion: Fusion, default_mode: str, val_p_at_10: dict[str, float] | None = None) -> SearchSpec:
        return cls(default_mode=default_mode, **vars(fusion), val_p_at_10=val_p_at_10 or {})

    @property
    def fusion(self) -> Fusion:
        return Fusion(self.weight, self.rrf_k, self.candidates)


@dataclass(frozen=True)
class Searcher:
    """What every mode searches with: the vector index, the lexical index and the TF-IDF features of queries."""

    index: VectorIndex
    lexical: LexicalIndex
    features: TfidfFeatures
    fusion: Fusion
    default_mode: str = "dense"

    def run(self, mode: str, vectors: np.ndarray, texts: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, positions) of each query in `mode`, best first, -1 where there are fewer."""
        return SEARCH_MODES[mode].run(self, vectors, texts, k)

    def with_fusion(self, fusion: Fusion) -> Searcher:
        return replace(self, fusion=fusion)


def dense(searcher: Searcher, vectors: np.ndarray, texts: Sequence[str], k: int):
    return searcher.index.search(vectors, k)


def lexical(searcher: Searcher, vectors: np.ndarray, texts: Sequence[str], k: int):
    return searcher.lexical.search([searcher.features.transform(t) for t in texts], k)


def reciprocal_rank_fusion(rankings: Sequence[np.ndarray], weights: Sequence[float], rrf_k: int, k: int):
    """Weighted RRF of several (queries, n) position rankings (-1: none); top-k (scores, positions) per query."""
    n = len(rankings[0])
    out_scores, out_positions = np.zeros((n, k), np.float32), np.full((n, k), -1, np.int64)
    for i in range(n):
        positions = np.concatenate([r[i] for r in rankings])
        gains = np.concatenate(
            [w / (rrf_k + 1 + np.arange(r.shape[1])) for r, w in zip(rankings, weights, strict=True)]
        )
        valid = positions >= 0
        unique, inverse = np.unique(positions[valid], return_inverse=True)
        fused = np.bincount(inverse, weights=gains[valid], minlength=len(unique))
        order = np.lexsort((unique, -fused))[:k]  # best first, ties by position
        out_scores[i, : len(order)], out_positions[i, : len(order)] = fused[order], unique[order]
    return out_scores, out_positions


def hybrid(searcher: Searcher, vectors: np.ndarray, texts: Sequence[str], k: int):
    f = searcher.fusion
    depth = max(k, f.candidates)
    _, dense_positions = dense(searcher, vectors, texts, depth)
    _, lexical_positions = lexical(searcher, vectors, texts, depth)
    return reciprocal_rank_fusion([dense_positions, lexical_positions], [f.weight, 1 - f.weight], f.rrf_k, k)


def no_files(models: ModelFolders) -> list[Path]:
    return []


def served_postings(models: ModelFolders) -> list[Path]:
    """The TF-IDF postings of the served index (the base's, grown with each harvested shard)."""
    return [models.served_index / name for name in LEXICAL_FILES]


@dataclass(frozen=True)
class SearchMode:
    run: Callable[[Searcher, np.ndarray, Sequence[str], int], tuple[np.ndarray, np.ndarray]]
    encodes: bool  # whether the query needs its embedding
    score: str  # what a hit's score is
    files: Callable[[ModelFolders], list[Path]] = no_files  # the artifacts it reads beyond the vector index


SEARCH_MODES: dict[str, SearchMode] = {
    "dense": SearchMode(dense, encodes=True, score="cosine similarity of the embeddings"),
    "lexical": SearchMode(lexical, False, "cosine similarity of the TF-IDF vectors", served_postings),
    "hybrid": SearchMode(hybrid, True, "weighted reciprocal-rank fusion of dense and lexical", served_postings),
}


def search_files(models: ModelFolders) -> list[Path]:
    """What search reads beyond the vector index: every mode's artifacts, once each, then the search spec."""
    files = dict.fromkeys(path for mode in SEARCH_MODES.values() for path in mode.files(models))
    return [*files, models.lexical / SEARCH_FILE]


def searcher_over(
    models: ModelFolders, index: VectorIndex, postings: Path, features: TfidfFeatures, fusion: Fusion, default_mode: str
) -> Searcher:
    """Every mode's artifacts over `index`: the TF-IDF postings in `postings` (the base's while the lexical_index
    stage scores the modes, the served index's in a bundle), and any other from its folder in `models`."""
    return Searcher(index, LexicalIndex(postings, index.ntotal), features, fusion, default_mode)


def load_searcher(models: ModelFolders, index: VectorIndex, features: TfidfFeatures) -> Searcher:
    """The searcher over the served `index`, with the fusion and the default mode chosen on val."""
    spec = SearchSpec.load(models.lexical)
    return searcher_over(models, index, models.served_index, features, spec.fusion, spec.default_mode)
