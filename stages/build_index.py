"""Stage build_index: a FAISS index over the corpus vectors, with the papers' metadata by index position."""

import time
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.shards import shard_files
from arxiv_embed.layout import LAYOUT
from arxiv_embed.search.index import IndexConfig, build_index
from arxiv_embed.search.papers import PAPERS_FILE, write_papers
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    index: IndexConfig


def main(params: Params) -> dict:
    with atomic_path(LAYOUT.models.base_index, is_dir=True) as tmp:
        start = time.perf_counter()
        ids, stats = build_index(LAYOUT.adapted_corpus, params.index, tmp)
        stats["build_seconds"] = round(time.perf_counter() - start, 3)
        columns = ["id", "title", "primary_category"]
        papers = pd.concat(pd.read_parquet(f, columns=columns) for f in shard_files(LAYOUT.corpus)).set_index("id")
        papers = papers.loc[ids]
        write_papers(tmp / PAPERS_FILE, zip(ids, papers["title"], papers["primary_category"], strict=True))
        stats["bytes"] = {f.name: f.stat().st_size for f in sorted(tmp.iterdir())}
    stats.pop("config")
    return stats


if __name__ == "__main__":
    run_stage("build_index", main, Params)
