"""Stage subsample: clean and dedupe, sample the corpus to serve, split its labelled papers into train/val/test,
and gather the labelled training pool (every clean paper of a labelled category outside val and test).

Pass 1 over the raw shards reads only what cleaning needs (ids, title keys, abstract lengths); the next copy the
chosen rows into the splits and the sharded corpus, then into the pool's shards. Abstracts are never all in memory.
"""

from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.shards import shard_files
from arxiv_embed.data.subsample import SubsampleConfig, category_counts, plan, write_pool, write_processed
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
    with atomic_path(LAYOUT.pool, is_dir=True) as tmp:
        pool_shards = write_pool(shards, chosen, tmp)
    with atomic_path(LAYOUT.plot("category_counts")) as tmp:
        pd.DataFrame(category_counts(splits)).to_csv(tmp, index=False)
    return {
        "categories": int(chosen.labelled["primary_category"].nunique()),
        **{f"{name}_papers": len(df) for name, df in splits.items()},
        "corpus_papers": len(chosen.corpus),
        "corpus_papers_of_rare_categories": chosen.unsplit_rare,  # in the index, in no split
        "pool_papers": sum(pool_shards),  # the TF-IDF classifier's training pool: outside val and test
        "pool_categories": int(chosen.pool["primary_category"].nunique()),
        "pool_shards": len(pool_shards),
        "dropped": chosen.dropped,
    }


if __name__ == "__main__":
    run_stage("subsample", main, Params)
