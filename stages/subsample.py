"""Stage subsample: clean and dedupe, sample the corpus to serve, and split its labelled papers into train/val/test.

Two passes over the raw shards: the first reads only what cleaning needs (ids, title keys, abstract lengths),
the second copies the chosen rows into the splits and into the sharded corpus. Abstracts are never all in memory.
"""

from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.shards import shard_files
from arxiv_embed.data.subsample import SubsampleConfig, category_counts, plan, write_processed
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    subsample: SubsampleConfig


def main(params: Params) -> dict:
    shards = shard_files(LAYOUT.raw)
    chosen = plan(shards, params.subsample)
    with atomic_path(LAYOUT.processed, is_dir=True) as tmp:
        splits = write_processed(shards, chosen, LAYOUT, tmp)
    with atomic_path(LAYOUT.plot("category_counts")) as tmp:
        pd.DataFrame(category_counts(splits)).to_csv(tmp, index=False)
    return {
        "categories": int(chosen.labelled["primary_category"].nunique()),
        **{f"{name}_papers": len(df) for name, df in splits.items()},
        "corpus_papers": len(chosen.corpus),
        "corpus_papers_of_rare_categories": chosen.unsplit_rare,  # in the index, in no split
        "dropped": chosen.dropped,
    }


if __name__ == "__main__":
    run_stage("subsample", main, Params)
