"""Stage download: stream the configured source into sharded Parquet under data/raw/, with canonical columns.

Papers are written as they are read (one row group in memory at a time), so memory stays flat from the
4k-paper sample to all 2.5M papers of arXiv (`data.max_papers: null`).
"""

from dataclasses import dataclass

import pyarrow as pa

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.schema import COLUMNS
from arxiv_embed.data.shards import write_rows
from arxiv_embed.data.sources import OFFLINE_FIX, DataConfig, PaperStream
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import LAYOUT
from arxiv_embed.machine import memory_mb
from arxiv_embed.stage import run_stage

SCHEMA = pa.schema([(name, pa.string()) for name in COLUMNS])


@dataclass(frozen=True)
class Params:
    data: DataConfig


def main(params: Params) -> dict:
    data = params.data
    stream = PaperStream(data.source, data.max_papers)
    with atomic_path(LAYOUT.raw, is_dir=True) as tmp:
        shards = write_rows(stream, tmp, SCHEMA, data.shard_rows)
        if not shards:
            raise PipelineError(f"no valid papers in {data.source}; point to another source with {OFFLINE_FIX}")
    return {
        "papers": sum(shards),
        "shards": len(shards),
        "skipped": sum(stream.skipped.values()),
        "skipped_by_reason": dict(stream.skipped),
        "peak_rss_mb": memory_mb()["VmHWM"],
    }


if __name__ == "__main__":
    run_stage("download", main, Params)
