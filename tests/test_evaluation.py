"""The evaluation seams, without `dvc repro`: the kNN vote, category lists, the one validation P@k."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from arxiv_embed.data.split_vectors import split_vectors
from arxiv_embed.data.vectors import save_vectors
from arxiv_embed.evaluation.served_quality import category_lists, knn_vote
from arxiv_embed.metrics import leave_one_out_precision, nearest_labels, validation_precision


def test_knn_vote_takes_the_most_frequent_and_breaks_ties_by_rank() -> None:
    neighbours = np.array(
        [["a", "b", "b", "a", "c"], ["c", "a", "a", "c", None], [None, None, None, None, None]], dtype=object
    )
    assert knn_vote(neighbours).tolist() == ["a", "c", ""]


def test_category_lists_follow_the_index_order_and_fall_back_to_the_primary(tmp_path: Path) -> None:
    table = pa.table({"id": ["p1", "p2"], "categories": ["cs.LG stat.ML", "math.CO"]})
    pq.write_table(table, tmp_path / "shard-00000.parquet")
    lists = category_lists(tmp_path, np.array(["p2", "new", "p1"]), np.array(["math.CO", "cs.CL", "cs.LG"]))
    assert lists.tolist() == ["math.CO", "cs.CL", "cs.LG stat.ML"]  # "new" was harvested: its primary category


def test_one_validation_precision_for_the_adapter_the_export_and_the_modes() -> None:
    labels = np.array(["a", "a", "b", "b"])
    assert validation_precision(labels, np.array([["a", None], ["b", "a"], ["b", "b"], ["a", "a"]]), k=2) == 0.5
    vectors = np.eye(4, dtype=np.float32)[[0, 0, 1, 1]] + np.float32(0.01)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert leave_one_out_precision(vectors, labels, k=1) == 1.0
    found = nearest_labels(vectors[:2], vectors[2:], labels[2:], k=1)
    assert found.tolist() == [["b"], ["b"]] and validation_precision(labels[:2], found, k=1) == 0.0


def test_split_vectors_lines_papers_up_with_the_vector_file(tmp_path: Path) -> None:
    papers = pd.DataFrame(
        {
            "id": ["x", "y", "z"],
            "title": ["X", "Y", "Z"],
            "abstract": ["x.", "y.", "z."],
            "primary_category": list("abc"),
        }
    )
    papers.to_parquet(tmp_path / "val.parquet", index=False)
    save_vectors(tmp_path / "val.npz", ["z", "x"], np.eye(2, dtype=np.float32))
    val = split_vectors(tmp_path / "val.npz", tmp_path / "val.parquet")
    assert val.ids.tolist() == ["z", "x"] and val.labels.tolist() == ["c", "a"]
    assert val.texts("title") == ["Z", "X"] and val.vectors.shape == (2, 2)
