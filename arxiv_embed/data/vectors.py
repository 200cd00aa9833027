"""Embeddings on disk: the corpus as (id, vector) Parquet shards, each split as one .npz (ids + vectors, no pickle).

Both embedding engines (local and Ray) write the same shard schema, so the index stage cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.shards import iter_batches, shard_files

ID, VECTOR = "id", "vector"


def vectors_table(ids, vectors: np.ndarray) -> pa.Table:
    """(id, vector) rows; vectors are a fixed-size list of float32, readable by any Parquet reader."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
    return pa.table({ID: pa.array(ids, type=pa.string()), VECTOR: column})


def table_vectors(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """The ids and an (n, dim) float32 matrix of a `vectors_table`."""
    column = table.column(VECTOR).combine_chunks()
    dim = column.type.list_size
    flat = column.values.to_numpy(zero_copy_only=False)
    return table.column(ID).to_numpy(zero_copy_only=False).astype(str), flat.reshape(-1, dim)


def vector_dim(folder: Path) -> int:
    """The embedding dimension of a vector-shard folder, from the first shard's schema."""
    return pq.read_schema(shard_files(folder)[0]).field(VECTOR).type.list_size


def iter_vectors(folder: Path, batch_rows: int = 65_536) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, vectors) of a vector-shard folder, chunk by chunk, in shard order."""
    for table in iter_batches(folder, batch_rows=batch_rows):
        yield table_vectors(table)


def select_vectors(folder: Path, wanted: np.ndarray) -> np.ndarray:
    """The vectors of the `wanted` ids, in that order, read shard by shard (the corpus may not fit in memory)."""
    row_of = {paper_id: i for i, paper_id in enumerate(wanted)}
    out: np.ndarray | None = None
    found = np.zeros(len(wanted), dtype=bool)
    for ids, vectors in iter_vectors(folder):
        hits = [(row_of[i], n) for n, i in enumerate(ids) if i in row_of]
        if out is None:
            out = np.zeros((len(wanted), vectors.shape[1]), dtype=np.float32)
        if hits:
            rows, positions = map(list, zip(*hits, strict=True))
            out[rows] = vectors[positions]
            found[rows] = True
    if out is None or not found.all():
        missing = [str(i) for i in np.asarray(wanted)[~found][:3]]
        raise ValueError(f"{len(wanted) - int(found.sum())} ids have no vector in {folder}, e.g. {missing}")
    return out


def save_vectors(path: Path, ids: list[str], vectors: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, ids=np.asarray(ids, dtype=str), vectors=np.asarray(vectors, dtype=np.float32))


def load_vectors(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return data["ids"], data["vectors"]
