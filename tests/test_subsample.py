"""Cleaning, de-duplication, the corpus sample, the stratified splits drawn from it and the training pool, on real
papers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from arxiv_embed.data import subsample
from arxiv_embed.data.pool import PoolReader
from arxiv_embed.data.shards import shard_files, shard_name
from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.subsample import (
    POOL_COLUMNS,
    SubsampleConfig,
    clean,
    labelled_categories,
    labelled_papers,
    paper_keys,
    plan,
    select_corpus,
    stratified_split,
    write_pool,
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
    labelled, n_rare = labelled_papers(everything, labelled_categories(everything, CFG))
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


def test_the_pool_is_every_labelled_paper_outside_val_and_test(papers: pd.DataFrame, tmp_path, monkeypatch) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    repeated = papers.iloc[:7]  # the same papers again in a later shard: kept once
    for number, part in enumerate((papers.iloc[:80], papers.iloc[80:], repeated)):
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), raw / shard_name(number))
    monkeypatch.setattr(subsample, "POOL_SHARD_PAPERS", 30)
    cfg = replace(CFG, corpus_max_papers=60)
    chosen = plan(shard_files(raw), cfg)
    (tmp_path / "pool").mkdir()
    sizes = write_pool(shard_files(raw), chosen, tmp_path / "pool")
    shards = [pd.read_parquet(f) for f in shard_files(tmp_path / "pool")]
    pool = pd.concat(shards)

    assert list(pool.columns) == POOL_COLUMNS and sizes == [len(shard) for shard in shards]
    assert max(sizes) <= 30 and max(sizes) - min(sizes) <= 1
    assert pool["id"].is_unique
    held_out = set(chosen.split_of.index[chosen.split_of != "train"])
    assert len(held_out) == cfg.val_papers + cfg.test_papers and not held_out & set(pool["id"])
    cleaned, _ = clean(paper_keys(pa.Table.from_pandas(papers, preserve_index=False)), cfg)
    labelled = cleaned[cleaned["primary_category"].isin(labelled_categories(cleaned, cfg))]
    assert set(pool["id"]) == set(labelled["id"]) - held_out  # corpus or not
    assert set(pool["id"]) - set(chosen.corpus["id"])  # papers the index does not hold
    by_id = papers.set_index("id")
    assert (pool.set_index("id")["abstract"] == by_id.loc[pool["id"], "abstract"]).all()
    assert plan(shard_files(raw), cfg).pool["id"].tolist() == chosen.pool["id"].tolist()  # seeded

    every = pd.concat(PoolReader(tmp_path / "pool", None, seed=0).frames())
    assert sorted(every["id"]) == sorted(pool["id"])
    some = PoolReader(tmp_path / "pool", 40, seed=0)
    taken = pd.concat(some.frames())
    assert len(taken) == 40 and taken["id"].is_unique and set(taken["id"]) <= set(pool["id"])
    assert pd.concat(some.frames(["primary_category"]))["primary_category"].tolist() == (
        taken["primary_category"].tolist()
    )  # the same papers whatever columns are read
    assert some.categories().tolist() == sorted(set(taken["primary_category"]))
