"""The `recommend` params section and the spec a bundle carries: the method chosen on val, with its settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field

from arxiv_embed.atomic import write_json
from arxiv_embed.params import Count, params_section
from arxiv_embed.recommend.methods import RECOMMENDERS, RankConfig

RECOMMEND_FILE = "recommend.json"


@params_section
class RecommendConfig:
    """The `recommend` section: the per-reader linear model, and the simulated readers that choose the method."""

    alpha: Annotated[float, Field(gt=0)]  # ridge penalty of the per-reader linear model
    max_terms: Count  # TF-IDF terms a lexical model weighs
    max_queries: Count  # searches for a library's papers' neighbours: its papers, or as many of their centres
    negatives: Count  # corpus papers each linear model learns against (a seeded sample)
    library_sizes: list[Count]  # papers in a simulated reader's library
    interests: list[Count]  # categories a simulated reader's library is drawn from
    val_readers: Count  # per (size, interests): the readers on val that choose the served method
    test_readers: Count  # per (size, interests): the readers on test that the report scores
    daily_papers: Count  # the newest test papers, ranked alone as the daily feed ranks a day's papers
    seed: int

    @property
    def ranking(self) -> RankConfig:
        return RankConfig(self.alpha, self.max_terms, self.max_queries)


@dataclass(frozen=True)
class RecommendSpec:
    """What a server needs to recommend as the pipeline evaluated: the method and the linear model's settings."""

    default_method: str
    ranking: RankConfig
    negatives: int
    seed: int

    def save(self, folder: Path, **record) -> None:
        spec = {
            "default_method": self.default_method,
            "alpha": self.ranking.alpha,
            "max_terms": self.ranking.max_terms,
            "max_queries": self.ranking.max_queries,
            "negatives": self.negatives,
            "seed": self.seed,
        }
        write_json(folder / RECOMMEND_FILE, {**spec, **record})

    @classmethod
    def load(cls, folder: Path) -> RecommendSpec:
        spec = json.loads((folder / RECOMMEND_FILE).read_text())
        if spec["default_method"] not in RECOMMENDERS:
            raise ValueError(f"{folder / RECOMMEND_FILE}: unknown method {spec['default_method']!r}")
        ranking = RankConfig(spec["alpha"], spec["max_terms"], spec["max_queries"])
        return cls(spec["default_method"], ranking, spec["negatives"], spec["seed"])
