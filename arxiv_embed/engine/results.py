"""What the engine answers: plain dataclasses, which the server's response models read by attribute."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from arxiv_embed.classify.classifier import HybridSpec
from arxiv_embed.encode.runtime_choice import RuntimeChoice


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    category: str
    date: str | None  # the datestamp of a harvested paper, else the month of its arXiv id


@dataclass(frozen=True)
class Hit(Paper):
    score: float  # the search mode's score: higher is nearer
    rank: int  # 1 for the nearest


@dataclass(frozen=True)
class Recommended(Hit):
    similarity: float  # cosine of its embedding with the nearest liked paper's
    # the liked papers it is nearest to (engine.NEAREST_NAMED, NEAR_MARGIN), nearest first: arXiv ids, a file
    # entry read as text by its key, a given text as like_texts[i]
    nearest_liked: list[str]


@dataclass(frozen=True)
class Embedded:
    vectors: np.ndarray  # (texts, dim), unit length
    tokens: int  # tokens the encoder read: special tokens in, truncated ones out

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]


@dataclass(frozen=True)
class CategoryScore:
    category: str
    probability: float


@dataclass(frozen=True)
class Categories:
    categories: list[CategoryScore]  # most likely first


@dataclass(frozen=True)
class Found:
    mode: str
    results: list[Hit]


@dataclass(frozen=True)
class Recommendations:
    method: str
    since: dt.date | None
    results: list[Recommended]
    unused: list[str]  # BibTeX keys of entries with neither an id in the index nor a title
    library: dict[str, int]  # liked and disliked papers used, by id and by text
    note: str | None = None  # why `results` is empty, when it is
    skipped: list[str] = field(default_factory=list)  # liked ids the index does not hold, left out (the feed)


@dataclass(frozen=True)
class Description:
    """Which bundle the engine serves, how it was built and how it scored (the server's /ready)."""

    bundle_version: str
    model_name: str
    onnx_variant: str
    encoder_runtime: str  # what runs the graph: onnxruntime or openvino
    runtime_choice: RuntimeChoice | None  # how the runtime was chosen, and the trials behind it
    index_type: str
    index_size: int
    corpus_size: int
    newest_paper_date: str | None
    harvest_shards: int
    feed_since: dt.date | None  # a feed's default window: the last harvest's days; None: the whole index
    dim: int
    text_field: str
    search_mode: str
    recommend_method: str
    recommend_by_shape: list[dict]  # the method per library shape (size, interests) chosen on val
    classifier: HybridSpec  # the blend, and what each side learned from
    provenance: dict[str, Any] | None
    metrics: dict[str, Any] | None
    release: dict[str, Any] | None
    artifact_hashes: dict[str, str]
    status: str = "ready"
