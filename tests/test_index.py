"""Indexes built from vector shards: every type, the fp16 re-rank, memory-mapped loading, and the paper store."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from arxiv_embed.data.shards import shard_name
from arxiv_embed.data.vectors import vectors_table
from arxiv_embed.search.index import INDEX_TYPES, RERANK_FILE, IndexConfig, VectorIndex, build_index, exact_index
from arxiv_embed.search.papers import PaperEditor, PaperStore, write_papers

CFG = IndexConfig(
    type="flat", hnsw_m=16, hnsw_ef_construction=100, hnsw_ef_search=64, ivf_nlist=16, ivf_nprobe=8,
    pq_m=16, opq=False, train_size=1000, rerank=0, seed=0,
)  # fmt: skip


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """3,000 unit vectors in 30 clusters, as three (id, vector) shards."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((30, 128)).astype(np.float32)
    vectors = centres[rng.integers(0, 30, 3000)] + 0.4 * rng.standard_normal((3000, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.array([f"p{i}" for i in range(3000)])
    folder = tmp_path_factory.mktemp("vectors")
    for n, start in enumerate(range(0, 3000, 1000)):
        pq.write_table(vectors_table(ids[start : start + 1000], vectors[start : start + 1000]), folder / shard_name(n))
    return folder, ids, vectors


def recall(index: VectorIndex, vectors: np.ndarray, queries: np.ndarray) -> float:
    _, truth = exact_index(vectors).search(queries, 10)
    _, found = index.search(queries, 10)
    return float(np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))


@pytest.mark.parametrize(
    "cfg",
    [replace(CFG, type=t) for t in INDEX_TYPES] + [replace(CFG, type="ivfpq", opq=True, rerank=200, ivf_nprobe=16)],
    ids=[*INDEX_TYPES, "ivfpq-opq-rerank"],
)
def test_every_index_type_from_shards(shards, cfg: IndexConfig, tmp_path: Path, monkeypatch) -> None:
    folder, ids, vectors = shards
    built_ids, stats = build_index(folder, cfg, tmp_path)
    assert built_ids.tolist() == ids.tolist() and stats["size"] == 3000 and stats["dim"] == 128
    assert (tmp_path / RERANK_FILE).is_file() == bool(cfg.rerank)
    index = VectorIndex(tmp_path)
    queries = vectors[::100] + 0.05
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    floor = {"flat": 1.0, "hnsw": 0.9, "ivf": 0.9, "ivfpq": 0.3}[cfg.type]  # PQ alone is lossy; re-rank restores
    assert recall(index, vectors, queries) >= (0.95 if cfg.rerank else floor)
    exact = cfg.type != "ivfpq" or cfg.rerank
    scores, positions = index.search(vectors[:1], 3)
    assert (positions[0][0] == 0 and scores[0][0] == pytest.approx(1.0, abs=1e-3)) or not exact
    assert np.dot(index.vector(5), vectors[5]) > (0.999 if exact else 0.8)  # a stored paper's vector, for search by id
    monkeypatch.setattr("arxiv_embed.search.index.EXACT_WINDOW", 500)
    for within in (np.arange(2990, 3000), np.arange(0, 3000, 7), np.arange(0, 3000, 2)):  # exactly, or by the index
        scores, positions = index.search(queries[:2], 5, within)
        assert np.isin(positions, within).all() and np.all(np.diff(scores, axis=1) <= 1e-6)


def test_pq_m_must_divide_the_dimension(shards, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="pq_m"):
        build_index(shards[0], replace(CFG, type="ivfpq", pq_m=48), tmp_path)


def test_paper_store_by_position_and_by_id(tmp_path: Path) -> None:
    rows = [(f"2401.{i:05d}", f"Title {i}", "cs.LG" if i % 2 else "math.AP") for i in range(100)]
    assert write_papers(tmp_path / "papers.sqlite", rows) == 100
    store = PaperStore(tmp_path / "papers.sqlite")
    assert len(store) == 100 and store.position("2401.00042") == 42 and store.position("nope") is None
    assert store.positions(["2401.00042", "nope", "2401.00007", "2401.00042"]) == {"2401.00042": 42, "2401.00007": 7}
    assert [r[:3] for r in store.rows([7, 3, 7])] == [rows[7], rows[3], rows[7]]
    assert store.column("category").tolist() == [r[2] for r in rows]


def test_a_harvested_paper_is_dated_by_its_first_version_and_a_revision_is_not_new(tmp_path: Path) -> None:
    """The OAI datestamp is a record's last change: a paper harvested today but first announced in 2019 is not
    new. A base file gains the `created` column with the first harvested papers."""
    path = tmp_path / "papers.sqlite"
    write_papers(path, [("2401.00001", "Base", "cs.LG")])
    assert PaperStore(path).rows([0])[0].date == "2024-01"  # the base corpus: its id's month
    assert PaperStore(path).newest_first_version() == dt.date(2024, 1, 1)
    editor = PaperEditor(path)
    editor.append([
        ("1905.01234", "Revised", "cs.LG", "2026-12-02T10:00:00Z", "2019-05-02"),
        ("2612.00007", "New", "cs.LG", "2026-12-02T10:00:00Z", "2026-11-30"),
        ("2612.00008", "New, undated", "cs.LG", "2026-12-02T10:00:00Z", None),
    ])  # fmt: skip
    editor.close()
    store = PaperStore(path)
    revised, new, undated = store.rows([1, 2, 3])
    assert (revised.date, new.date, undated.date) == ("2019-05-02", "2026-11-30", "2026-12")
    assert store.announced_from(dt.date(2026, 12, 2)).tolist() == [2, 3]  # not the revision of a 2019 paper
    assert store.announced_from(dt.date(2026, 12, 28)).tolist() == [3]  # an id's month is never taken for older
    assert store.announced_from(dt.date(2024, 1, 31)).tolist() == [0, 2, 3]  # the base corpus too, by its ids
    assert store.announced_from(dt.date(2027, 1, 1)).tolist() == []
    assert store.newest_first_version() == dt.date(2026, 12, 1)  # where a first harvest starts
