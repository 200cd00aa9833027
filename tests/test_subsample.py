"""Cleaning, de-duplication, the corpus sample and the stratified splits drawn from it, on real papers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.subsample import (
    SubsampleConfig,
    clean,
    labelled_papers,
    paper_keys,
    select_corpus,
    stratified_split,
)
from arxiv_embed.errors import PipelineError

CFG = SubsampleConfig(
    min_abstract_chars=100,
    min_papers_to_keep_category=10,
    val_papers=15,
    test_papers=20,
    corpus_max_papers=None,
    seed=1,
)


@pytest.fixture()
def papers(tiny_source) -> pd.DataFrame:
    return pd.DataFrame(read_papers(tiny_source)[0])


def test_clean_drops_duplicates_and_short_abstracts(papers: pd.DataFrame) -> None:
    dup_id = papers.iloc[[0]]
    dup_title = papers.iloc[[1]].assign(id="new-id", title=papers.iloc[1]["title"].upper() + "!")
    short = papers.iloc[[2]].assign(id="short", title="Unique short one", abstract="too short")
    raw = pa.Table.from_pandas(pd.concat([papers, dup_id, dup_title, short]), preserve_index=False)
    cleaned, dropped = clean(paper_keys(raw), CFG)
    assert dropped == {"short_abstract": 1, "duplicate_id": 1, "duplicate_title": 1}
    assert cleaned["id"].tolist() == papers["id"].tolist()


def test_corpus_is_a_seeded_sample(papers: pd.DataFrame) -> None:
    mask = select_corpus(papers, max_papers=50, seed=3)
    assert mask.sum() == 50
    assert np.array_equal(mask, select_corpus(papers, max_papers=50, seed=3))
    assert not np.array_equal(mask, select_corpus(papers, max_papers=50, seed=4))
    assert select_corpus(papers, max_papers=None, seed=3).all()


def test_splits_are_stratified_samples_of_the_labelled_corpus(papers: pd.DataFrame) -> None:
    rare = papers.iloc[:5].assign(
        primary_category="rare.XX", id=lambda d: d["id"] + "r", title=lambda d: d["title"] + "r"
    )
    everything = pd.concat([papers, rare])
    labelled, n_rare = labelled_papers(everything, everything, CFG)
    assert n_rare == 5 and "rare.XX" not in set(labelled["primary_category"])
    splits = stratified_split(labelled, CFG)
    assert (len(splits["val"]), len(splits["test"])) == (CFG.val_papers, CFG.test_papers)
    assert sum(len(df) for df in splits.values()) == len(labelled)  # every labelled paper is in one split
    ids = [set(df["id"]) for df in splits.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    for df in splits.values():
        counts = df["primary_category"].value_counts()
        assert set(counts.index) == set(labelled["primary_category"])
        assert counts.max() - counts.min() <= 1  # equal-sized categories stay equal across splits
    again = stratified_split(labelled, CFG)
    assert all(again[s]["id"].tolist() == splits[s]["id"].tolist() for s in splits)


def test_holdouts_larger_than_the_corpus_are_a_clear_error(papers: pd.DataFrame) -> None:
    with pytest.raises(PipelineError, match="subsample.val_papers"):
        stratified_split(papers, replace(CFG, test_papers=len(papers)))


def test_single_category_is_a_clear_error(papers: pd.DataFrame) -> None:
    one = papers[papers["primary_category"] == papers["primary_category"].iloc[0]]
    with pytest.raises(PipelineError, match="min_papers_to_keep_category"):
        stratified_split(one, CFG)
