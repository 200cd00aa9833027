"""Sharded Parquet folders: papers and embeddings are written as they arrive and read back shard by shard.

A folder holds `part-00000.parquet`, `part-00001.parquet`, ...; each shard is filled in row groups, so a writer
keeps at most one row group in memory and a reader never needs the whole folder at once. This is what lets the
pipeline go from a 4k-paper subsample to all 2.5M arXiv papers without memory growing with the corpus.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from arxiv_embed.errors import PipelineError

SHARD_GLOB = "*.parquet"
ROW_GROUP_ROWS = 10_000


def shard_name(number: int) -> str:
    return f"part-{number:05d}.parquet"


def shard_files(folder: Path) -> list[Path]:
    """The shards of a folder in name order (which is write order); a clear error when there are none."""
    files = sorted(Path(folder).glob(SHARD_GLOB))
    if not files:
        raise PipelineError(f"{folder} holds no Parquet shards: run the stage that writes it first")
    return files


def write_rows(rows: Iterable[dict], folder: Path, schema: pa.Schema, shard_rows: int) -> list[int]:
    """Write dict rows into `folder` as shards of at most `shard_rows` rows; return each shard's row count."""
    sizes: list[int] = []
    writer: pq.ParquetWriter | None = None
    buffer: list[dict] = []

    def flush() -> None:
        if buffer:
            writer.write_table(pa.Table.from_pylist(buffer, schema=schema))
            buffer.clear()

    try:
        for row in rows:
            if writer is None or sizes[-1] == shard_rows:
                flush()
                if writer is not None:
                    writer.close()
                writer = pq.ParquetWriter(folder / shard_name(len(sizes)), schema)
                sizes.append(0)
            buffer.append(row)
            sizes[-1] += 1
            if len(buffer) == ROW_GROUP_ROWS:
                flush()
        if writer is not None:
            flush()
    finally:
        if writer is not None:
            writer.close()
    return sizes


def count_rows(folder: Path) -> int:
    """Rows in all shards, from the Parquet footers only."""
    return sum(pq.read_metadata(f).num_rows for f in shard_files(folder))


def iter_batches(
    folder: Path, columns: list[str] | None = None, batch_rows: int = ROW_GROUP_ROWS
) -> Iterator[pa.Table]:
    """The folder's rows as consecutive tables of at most `batch_rows` rows, in shard order."""
    for path in shard_files(folder):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=columns):
            yield pa.Table.from_batches([batch])
