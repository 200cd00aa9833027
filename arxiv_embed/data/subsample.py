"""Cleaning, de-duplication, the corpus, train/val/test splits drawn from it, and the labelled training pool.

Cleaning works on a light metadata frame (id, category, a hash of the title key, the abstract's length), never
on the abstracts themselves, so it scales to all of arXiv: `paper_keys` turns each raw shard into such rows.

The corpus is what is embedded and indexed, so its size is bounded by time; a label costs nothing to read, so the
pool holds every clean paper of a labelled category outside val and test, whether the corpus holds it or not. The
classifier's TF-IDF model learns from the pool, one shard at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from arxiv_embed.data.shards import shard_name
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import Layout
from arxiv_embed.params import Count, params_section

SPLITS = ("train", "val", "test")
POOL_SHARD_PAPERS = 50_000  # at most, per pool shard: what the TF-IDF learner holds in memory at once
POOL_COLUMNS = ["id", "title", "abstract", "primary_category"]
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@params_section
class SubsampleConfig:
    """The `subsample` section: cleaning, the corpus the index serves, and the splits drawn from that corpus.

    Every labelled corpus paper that is not in val or test is training material for the encoder (`train.max_pairs`
    pairs drawn among them) and the embedding classifier; the TF-IDF classifier learns from the pool, every clean
    paper of a labelled category outside val and test.
    """

    min_abstract_chars: int
    min_papers_to_keep_category: Count  # corpus papers of categories with fewer clean papers stay out of the splits
    val_papers: Count  # a stratified sample of the corpus: fusion, blend and calibration are chosen on it
    test_papers: Count  # a stratified sample of the corpus that no learner sees; the evaluate stage's queries
    corpus_max_papers: Count | None  # a seeded sample of the clean papers; None: all of them
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


def labelled_categories(papers: pd.DataFrame, cfg: SubsampleConfig) -> pd.Index:
    """The categories with at least `min_papers_to_keep_category` clean papers: what the classifiers can learn."""
    counts = papers["primary_category"].value_counts()
    return counts[counts >= cfg.min_papers_to_keep_category].index


def labelled_papers(corpus: pd.DataFrame, categories: pd.Index) -> tuple[pd.DataFrame, int]:
    """The corpus papers the splits are drawn from: those of labelled `categories`.

    Returns them and how many corpus papers were left out for a rare category (they stay in the corpus).
    """
    kept = corpus["primary_category"].isin(categories)
    return corpus[kept], int((~kept).sum())


def training_pool(papers: pd.DataFrame, categories: pd.Index, held_out: pd.Index, seed: int) -> pd.DataFrame:
    """Every clean paper of a labelled category that is not `held_out` (val and test), in a seeded random order,
    with the pool shard each goes to: shards of near-equal size, each a random sample of the pool."""
    pool = papers[papers["primary_category"].isin(categories) & ~papers["id"].isin(held_out)]
    pool = pool.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    shards = -(-len(pool) // POOL_SHARD_PAPERS)
    return pool.assign(pool_shard=np.arange(len(pool)) % max(shards, 1))


def stratified_split(papers: pd.DataFrame, cfg: SubsampleConfig) -> dict[str, pd.DataFrame]:
    """Hold out `test_papers`, then `val_papers`, each keeping every category's share; the rest is train."""
    from sklearn.model_selection import train_test_split

    n_categories = papers["primary_category"].nunique()
    if n_categories < 2:
        raise PipelineError(
            f"only {n_categories} category has at least {cfg.min_papers_to_keep_category} papers; "
            "lower -S subsample.min_papers_to_keep_category or use a larger source"
        )
    if cfg.val_papers + cfg.test_papers >= len(papers) - n_categories:
        raise PipelineError(
            f"subsample.val_papers + subsample.test_papers = {cfg.val_papers + cfg.test_papers} leaves too few of "
            f"the {len(papers)} labelled corpus papers to train on; lower them or raise subsample.corpus_max_papers"
        )
    labels = papers["primary_category"]
    # a category needs two papers to be split by stratification; singletons go to train
    single = labels.map(labels.value_counts()) < 2
    pool = papers[~single]
    rest, test = train_test_split(
        pool, test_size=cfg.test_papers, stratify=pool["primary_category"], random_state=cfg.seed
    )
    rest_labels = rest["primary_category"]
    rest_single = rest_labels.map(rest_labels.value_counts()) < 2
    train, val = train_test_split(
        rest[~rest_single],
        test_size=cfg.val_papers,
        stratify=rest.loc[~rest_single, "primary_category"],
        random_state=cfg.seed,
    )
    train = pd.concat([train, rest[rest_single], papers[single]])
    parts = zip(SPLITS, (train, val, test), strict=True)
    return {name: df.sort_values("id").reset_index(drop=True) for name, df in parts}


def category_counts(splits: dict[str, pd.DataFrame]) -> list[dict]:
    """Rows of (category, split, papers) for the `dvc plots` bar chart."""
    rows = []
    for name, df in splits.items():
        for category, n in df["primary_category"].value_counts().sort_index().items():
            rows.append({"category": category, "split": name, "papers": int(n)})
    return rows


def select_corpus(papers: pd.DataFrame, max_papers: int | None, seed: int) -> np.ndarray:
    """Which clean papers the index holds: all of them, or a seeded sample; a boolean mask over `papers`."""
    if max_papers is None or max_papers >= len(papers):
        return np.ones(len(papers), dtype=bool)
    mask = np.zeros(len(papers), dtype=bool)
    mask[np.random.default_rng(seed).choice(len(papers), size=max_papers, replace=False)] = True
    return mask


KEY_COLUMNS = ["id", "title", "abstract", "primary_category"]


def scan(shards: list[Path]) -> pd.DataFrame:
    """Pass 1: the metadata of every raw paper, with the shard and row it lives in."""
    frames = []
    for number, path in enumerate(shards):
        keys = paper_keys(pq.read_table(path, columns=KEY_COLUMNS))
        frames.append(keys.assign(shard=number, row=np.arange(len(keys))))
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Plan:
    """What pass 2 copies: the corpus's and the pool's (shard, row) pairs, and the split of each labelled paper."""

    corpus: pd.DataFrame
    labelled: pd.DataFrame
    split_of: pd.Series  # id -> split name
    pool: pd.DataFrame  # with the pool shard of each paper
    dropped: dict[str, int]
    unsplit_rare: int  # corpus papers of categories too rare to split


def plan(shards: list[Path], cfg: SubsampleConfig) -> Plan:
    papers, dropped = clean(scan(shards), cfg)
    corpus = papers[select_corpus(papers, cfg.corpus_max_papers, cfg.seed)]
    categories = labelled_categories(papers, cfg)
    labelled, unsplit_rare = labelled_papers(corpus, categories)
    split_keys = stratified_split(labelled, cfg)
    split_of = pd.concat([df[["id"]].assign(split=name) for name, df in split_keys.items()]).set_index("id")["split"]
    held_out = pd.Index(split_of.index[split_of != "train"])
    pool = training_pool(papers, categories, held_out, cfg.seed)
    return Plan(corpus, labelled, split_of, pool, dropped, unsplit_rare)


def write_processed(shards: list[Path], chosen: Plan, layout: Layout, out: Path) -> dict[str, pd.DataFrame]:
    """Pass 2: the corpus's rows (sharded as the raw data) and the splits, each sorted by id, into `out`, which
    becomes `layout.processed`; returns the splits."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in SPLITS}
    corpus_name = layout.corpus.name
    (out / corpus_name).mkdir()
    for number, path in enumerate(shards):
        rows = chosen.corpus.loc[chosen.corpus["shard"] == number, "row"].to_numpy()
        kept = pq.read_table(path).take(rows)
        if len(rows):
            pq.write_table(kept, out / corpus_name / shard_name(number))
        papers = kept.to_pandas()
        papers = papers[papers["id"].isin(chosen.split_of.index)]
        for name, df in papers.groupby(papers["id"].map(chosen.split_of)):
            parts[name].append(df)
    splits = {name: pd.concat(dfs).sort_values("id").reset_index(drop=True) for name, dfs in parts.items()}
    for name, df in splits.items():
        df.to_parquet(out / layout.split(name).name, index=False)
    return splits


def write_pool(shards: list[Path], chosen: Plan, out: Path) -> list[int]:
    """The pool's papers (`POOL_COLUMNS`) as shards in `out`, which becomes `layout.pool`; returns their sizes.

    Each pool shard is filled raw shard by raw shard, so memory holds one raw shard and one pool shard at most.
    """
    raw_schema = pq.read_schema(shards[0])
    schema = pa.schema(raw_schema.field(c) for c in POOL_COLUMNS)
    writers = {n: pq.ParquetWriter(out / shard_name(n), schema) for n in sorted(chosen.pool["pool_shard"].unique())}
    try:
        for number, path in enumerate(shards):
            rows = chosen.pool[chosen.pool["shard"] == number]
            if rows.empty:
                continue
            papers = pq.read_table(path, columns=POOL_COLUMNS)
            for pool_shard, part in rows.groupby("pool_shard"):
                writers[pool_shard].write_table(papers.take(part["row"].to_numpy()))
    finally:
        for writer in writers.values():
            writer.close()
    return chosen.pool["pool_shard"].value_counts().sort_index().tolist()
