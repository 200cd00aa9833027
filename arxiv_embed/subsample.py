"""Cleaning, de-duplication, a per-category cap and a stratified train/val/test split."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.errors import PipelineError

SPLITS = ("train", "val", "test")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class SubsampleConfig:
    """The `subsample` section of params.yaml."""

    min_abstract_chars: int
    min_per_category: int
    max_per_category: int
    val_fraction: float
    test_fraction: float
    seed: int


def _title_key(title: str) -> str:
    """Titles that differ only in case, punctuation or spacing are the same paper (e.g. v1 and v2 entries)."""
    return _NON_ALNUM.sub(" ", title.lower()).strip()


def clean(papers: pd.DataFrame, cfg: SubsampleConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop short abstracts and duplicates (by id, then by title); return the rest and what was dropped."""
    dropped: dict[str, int] = {}
    short = papers["abstract"].str.len() < cfg.min_abstract_chars
    dropped["short_abstract"] = int(short.sum())
    papers = papers[~short]
    before = len(papers)
    papers = papers.drop_duplicates("id", keep="first")
    dropped["duplicate_id"] = before - len(papers)
    before = len(papers)
    papers = papers.loc[~papers["title"].map(_title_key).duplicated(keep="first")]
    dropped["duplicate_title"] = before - len(papers)
    return papers.reset_index(drop=True), dropped


def cap_categories(papers: pd.DataFrame, cfg: SubsampleConfig) -> tuple[pd.DataFrame, int]:
    """Keep categories with at least `min_per_category` papers; sample at most `max_per_category` of each."""
    counts = papers["primary_category"].value_counts()
    kept = counts[counts >= cfg.min_per_category].index
    rare = int(counts[counts < cfg.min_per_category].sum())
    papers = papers[papers["primary_category"].isin(kept)]
    shuffled = papers.sample(frac=1.0, random_state=cfg.seed)
    capped = shuffled.groupby("primary_category").head(cfg.max_per_category).sort_values("id")
    return capped.reset_index(drop=True), rare


def stratified_split(papers: pd.DataFrame, cfg: SubsampleConfig) -> dict[str, pd.DataFrame]:
    """Split so that every category keeps its share in train, val and test."""
    from sklearn.model_selection import train_test_split

    n_categories = papers["primary_category"].nunique()
    if n_categories < 2:
        raise PipelineError(
            f"only {n_categories} category has at least {cfg.min_per_category} papers; "
            "lower -S subsample.min_per_category or use a larger source"
        )
    holdout = cfg.val_fraction + cfg.test_fraction
    train, rest = train_test_split(
        papers, test_size=holdout, stratify=papers["primary_category"], random_state=cfg.seed
    )
    val, test = train_test_split(
        rest,
        test_size=cfg.test_fraction / holdout,
        stratify=rest["primary_category"],
        random_state=cfg.seed,
    )
    parts = zip(SPLITS, (train, val, test), strict=True)
    return {name: df.sort_values("id").reset_index(drop=True) for name, df in parts}


def category_counts(splits: dict[str, pd.DataFrame]) -> list[dict]:
    """Rows of (category, split, papers) for the `dvc plots` bar chart."""
    rows = []
    for name, df in splits.items():
        for category, n in df["primary_category"].value_counts().sort_index().items():
            rows.append({"category": category, "split": name, "papers": int(n)})
    return rows
