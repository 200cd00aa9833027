"""Stage subsample: clean and dedupe, sample the corpus to serve, and split its labelled papers into train/val/test.

Two passes over the raw shards: the first reads only what cleaning needs (ids, title keys, abstract lengths),
the second copies the chosen rows into the splits and into the sharded corpus. Abstracts are never all in memory.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.shards import shard_files, shard_name
from arxiv_embed.data.subsample import (
    SPLITS,
    SubsampleConfig,
    category_counts,
    clean,
    labelled_papers,
    paper_keys,
    select_corpus,
    stratified_split,
)
from arxiv_embed.layout import CORPUS_DIR, METRICS_DIR, PROCESSED_DIR, RAW_DIR, split_path
from arxiv_embed.stage import run_stage

KEY_COLUMNS = ["id", "title", "abstract", "primary_category"]


def scan(shards: list) -> pd.DataFrame:
    """Pass 1: the metadata of every raw paper, with the shard and row it lives in."""
    frames = []
    for number, path in enumerate(shards):
        keys = paper_keys(pq.read_table(path, columns=KEY_COLUMNS))
        frames.append(keys.assign(shard=number, row=np.arange(len(keys))))
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Params:
    subsample: SubsampleConfig


def main(params: Params) -> dict:
    cfg = params.subsample
    shards = shard_files(RAW_DIR)
    papers, dropped = clean(scan(shards), cfg)
    corpus = papers[select_corpus(papers, cfg.corpus_max_papers, cfg.seed)]
    labelled, unsplit_rare = labelled_papers(papers, corpus, cfg)
    split_keys = stratified_split(labelled, cfg)
    split_of = pd.concat([df[["id"]].assign(split=name) for name, df in split_keys.items()]).set_index("id")["split"]

    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in SPLITS}
    corpus_papers = 0
    with atomic_path(PROCESSED_DIR, is_dir=True) as tmp:
        (tmp / CORPUS_DIR.name).mkdir()
        for number, path in enumerate(shards):  # pass 2
            rows = corpus.loc[corpus["shard"] == number, "row"].to_numpy()
            kept = pq.read_table(path).take(rows)
            if len(rows):
                pq.write_table(kept, tmp / CORPUS_DIR.name / shard_name(number))
                corpus_papers += len(rows)
            chosen = kept.to_pandas()
            chosen = chosen[chosen["id"].isin(split_of.index)]
            for name, df in chosen.groupby(chosen["id"].map(split_of)):
                parts[name].append(df)
        splits = {name: pd.concat(dfs).sort_values("id").reset_index(drop=True) for name, dfs in parts.items()}
        for name, df in splits.items():
            df.to_parquet(tmp / split_path(name).name, index=False)
    with atomic_path(METRICS_DIR / "category_counts.csv") as tmp:
        pd.DataFrame(category_counts(splits)).to_csv(tmp, index=False)
    return {
        "categories": int(labelled["primary_category"].nunique()),
        **{f"{name}_papers": len(df) for name, df in splits.items()},
        "corpus_papers": corpus_papers,
        "corpus_papers_of_rare_categories": unsplit_rare,  # in the index, in no split
        "dropped": dropped,
    }


if __name__ == "__main__":
    run_stage("subsample", main, Params)
