"""The `recommend` params section and the spec a bundle carries: the method chosen on val, with its settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

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


class RecommendSpec(SpecFile):
    """recommend.json, which the recommend stage writes and a bundle carries: the method chosen on val, the
    linear model's settings, and each method's val P@10."""

    FILE = RECOMMEND_FILE
    default_method: Annotated[str, registry_key(RECOMMENDERS)]
    alpha: float
    max_terms: int
    max_queries: int
    negatives: int  # corpus papers a per-reader linear model learns against
    seed: int
    val_p_at_10: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def of(cls, method: str, cfg: RecommendConfig, val_p_at_10: dict[str, float] | None = None) -> RecommendSpec:
        ranking = cfg.ranking
        return cls(
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
