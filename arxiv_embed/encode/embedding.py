"""Embedding the corpus shards with the local engine: one process, shard by shard, batch by batch.

`embed_table` is the unit of work shared with the Ray engine (arxiv_embed.encode.ray_engine): a table of papers in,
a table of (id, vector) out, so both engines produce the same vectors from the same encoder.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from arxiv_embed.data.shards import count_rows, shard_files
from arxiv_embed.data.text import build_texts
from arxiv_embed.data.vectors import vectors_table
from arxiv_embed.encode.corpus_encoder import Encode, EncoderSpec, load_encoder

TEXT_COLUMNS = ["id", "title", "abstract"]


def embed_table(encode: Encode, papers: pa.Table, text_field: str) -> pa.Table:
    """(id, vector) rows for a table of papers."""
    texts = build_texts(papers.column("title").to_pylist(), papers.column("abstract").to_pylist(), text_field)
    return vectors_table(papers.column("id"), encode(texts))


def embed_local(spec: EncoderSpec, corpus_dir: Path, out_dir: Path, text_field: str, batch_rows: int) -> int:
    """Write one vector shard per corpus shard into `out_dir`; return how many papers were embedded."""
    encode = load_encoder(spec)
    done = 0
    with tqdm(total=count_rows(corpus_dir), desc=f"embed corpus ({spec.name})", unit="paper") as bar:
        for path in shard_files(corpus_dir):
            writer = None
            for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_rows, columns=TEXT_COLUMNS):
                table = embed_table(encode, pa.Table.from_batches([batch]), text_field)
                writer = writer or pq.ParquetWriter(out_dir / path.name, table.schema)
                writer.write_table(table)
                done += table.num_rows
                bar.update(table.num_rows)
            if writer:
                writer.close()
    return done
