"""Cleaning, de-duplication, a per-category cap, a stratified train/val/test split, and the corpus.

Cleaning works on a light metadata frame (id, category, a hash of the title key, the abstract's length), never
on the abstracts themselves, so it scales to all of arXiv: `paper_keys` turns each raw shard into such rows.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from arxiv_embed.errors import PipelineError
from arxiv_embed.params import Count, Fraction, params_section

SPLITS = ("train", "val", "test")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@params_section
class SubsampleConfig:
    """The `subsample` section: cleaning, the splits the models learn from, and the corpus the index serves."""

    min_abstract_chars: int
    min_papers_to_keep_category: Count  # categories with fewer clean papers are dropped from the splits
    papers_per_category: Count  # at most this many papers of each kept category go into the splits
    val_fraction: Fraction
    test_fraction: Fraction
    corpus_max_papers: Count | None  # the corpus: every split paper, then a seeded sample; None: all clean papers
    seed: int


def _title_key(title: str) -> str:
    """Titles that differ only in case, punctuation or spacing are the same paper (e.g. v1 and v2 entries)."""
    return _NON_ALNUM.sub(" ", title.lower()).strip()


def paper_keys(papers: pa.Table) -> pd.DataFrame:
    """What cleaning and splitting need of each paper: id, primary category, title-key hash, abstract length."""
    titles = papers.column("title").to_pandas()
    return pd.DataFrame(
        {
            "id": papers.column("id").to_pandas(),
            "primary_category": papers.column("primary_category").to_pandas(),
            "title_key": pd.util.hash_array(titles.map(_title_key).to_numpy(dtype=object)),
            "abstract_chars": pc.utf8_length(papers.column("abstract")).to_numpy(),
        }
    )


def clean(papers: pd.DataFrame, cfg: SubsampleConfig) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop short abstracts and duplicates (by id, then by title); return the rest and what was dropped.

    `papers` are `paper_keys` rows in source order; the first of duplicates is kept.
    """
    dropped: dict[str, int] = {}
    short = papers["abstract_chars"] < cfg.min_abstract_chars
    dropped["short_abstract"] = int(short.sum())
    papers = papers[~short]
    before = len(papers)
    papers = papers.drop_duplicates("id", keep="first")
    dropped["duplicate_id"] = before - len(papers)
    before = len(papers)
    papers = papers.loc[~papers["title_key"].duplicated(keep="first")]
    dropped["duplicate_title"] = before - len(papers)
    return papers.reset_index(drop=True), dropped


def cap_categories(papers: pd.DataFrame, cfg: SubsampleConfig) -> tuple[pd.DataFrame, int]:
    """Keep categories with at least `min_papers_to_keep_category` papers; sample `papers_per_category` of each."""
    counts = papers["primary_category"].value_counts()
    kept = counts[counts >= cfg.min_papers_to_keep_category].index
    rare = int(counts[counts < cfg.min_papers_to_keep_category].sum())
    papers = papers[papers["primary_category"].isin(kept)]
    shuffled = papers.sample(frac=1.0, random_state=cfg.seed)
    capped = shuffled.groupby("primary_category").head(cfg.papers_per_category).sort_values("id")
    return capped.reset_index(drop=True), rare


def stratified_split(papers: pd.DataFrame, cfg: SubsampleConfig) -> dict[str, pd.DataFrame]:
    """Split so that every category keeps its share in train, val and test."""
    from sklearn.model_selection import train_test_split

    n_categories = papers["primary_category"].nunique()
    if n_categories < 2:
        raise PipelineError(
            f"only {n_categories} category has at least {cfg.min_papers_to_keep_category} papers; "
            "lower -S subsample.min_papers_to_keep_category or use a larger source"
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


def select_corpus(papers: pd.DataFrame, split_ids: set[str], max_papers: int | None, seed: int) -> np.ndarray:
    """Which clean papers the index holds: all of them, or every split paper plus a seeded sample of the rest.

    The split papers are always in, so evaluation queries search a corpus that contains their own category's
    training papers as well as everything else; returns a boolean mask over `papers`.
    """
    in_splits = papers["id"].isin(split_ids).to_numpy()
    if max_papers is None or max_papers >= len(papers):
        return np.ones(len(papers), dtype=bool)
    others = np.flatnonzero(~in_splits)
    room = max(0, max_papers - int(in_splits.sum()))
    chosen = np.random.default_rng(seed).choice(others, size=min(room, len(others)), replace=False)
    mask = in_splits.copy()
    mask[chosen] = True
    return mask
