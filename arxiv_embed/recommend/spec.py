"""The `recommend` params section and the spec a bundle carries: the method chosen on val, with its settings."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BaseModel, Field

from arxiv_embed.params import Count, params_section, registry_key
from arxiv_embed.recommend.methods import RECOMMENDERS, RankConfig
from arxiv_embed.spec_file import SpecFile

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
    # per (size, interests): the readers on test that the report scores; 0: no test report (the quickstart, whose
    # served method needs only val)
    test_readers: Annotated[int, Field(ge=0)]
    daily_papers: Count  # the newest test papers, ranked alone as the daily feed ranks a day's papers
    seed: int

    @property
    def ranking(self) -> RankConfig:
        return RankConfig(self.alpha, self.max_terms, self.max_queries)


class ShapeChoice(BaseModel):
    """The method that served the simulated val readers of one library shape best."""

    library: int  # papers in the library
    interests: int  # primary categories among them
    method: Annotated[str, registry_key(RECOMMENDERS)]


class RecommendSpec(SpecFile):
    """recommend.json, which the recommend stage writes and a bundle carries: the method chosen on val (overall,
    and per library shape), the linear model's settings, and each method's val P@10."""

    FILE = RECOMMEND_FILE
    default_method: Annotated[str, registry_key(RECOMMENDERS)]
    alpha: float
    max_terms: int
    max_queries: int
    negatives: int  # corpus papers a per-reader linear model learns against
    seed: int
    val_p_at_10: dict[str, float] = Field(default_factory=dict)
    by_shape: list[ShapeChoice] = Field(default_factory=list)  # empty: default_method for every library

    @classmethod
    def of(
        cls,
        method: str,
        cfg: RecommendConfig,
        val_p_at_10: dict[str, float] | None = None,
        by_shape: list[ShapeChoice] | None = None,
    ) -> RecommendSpec:
        ranking = cfg.ranking
        return cls(
            by_shape=by_shape or [],
            default_method=method,
            alpha=ranking.alpha,
            max_terms=ranking.max_terms,
            max_queries=ranking.max_queries,
            negatives=cfg.negatives,
            seed=cfg.seed,
            val_p_at_10=val_p_at_10 or {},
        )

    @property
    def ranking(self) -> RankConfig:
        return RankConfig(self.alpha, self.max_terms, self.max_queries)

    def method_for(self, library: int, interests: int) -> str:
        """The method of the shape nearest a library of `library` papers over `interests` categories: the size
        nearest on a log scale, then the interests nearest (a simulated library has at most as many interests
        as papers); `default_method` without a rule."""
        if not self.by_shape or library < 1:
            return self.default_method
        size = min({c.library for c in self.by_shape}, key=lambda n: (abs(math.log(n / library)), n))
        shapes = [c for c in self.by_shape if c.library == size]
        return min(shapes, key=lambda c: (abs(c.interests - max(interests, 1)), c.interests)).method
