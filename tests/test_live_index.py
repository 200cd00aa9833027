"""The live index grows by shards exactly as it would be built from scratch, and leaves out what was replaced."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from arxiv_embed.classify.tfidf import TfidfConfig, TfidfFeatures, make_vectorizer
from arxiv_embed.data.harvest import SHARD_COLUMNS, SHARD_INFO, SHARD_PAPERS, SHARD_VECTORS
from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.text import build_texts
from arxiv_embed.data.vectors import save_vectors, vectors_table
from arxiv_embed.search.index import IndexConfig, VectorIndex, build_index
from arxiv_embed.search.lexical import LexicalIndex, read_postings, write_postings
from arxiv_embed.search.live_index import Shard, grow
from arxiv_embed.search.papers import PAPERS_FILE, PaperStore, write_papers

FIELD = "title_abstract"


def unit(rng: np.random.Generator, n: int, dim: int = 32) -> np.ndarray:
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def papers(tiny_source: Path) -> pd.DataFrame:
    return pd.DataFrame(read_papers(tiny_source)[0])


@pytest.fixture(scope="module")
def features(papers: pd.DataFrame) -> TfidfFeatures:
    vectorizer = make_vectorizer(
        TfidfConfig(max_features=2000, max_ngram=2, vocabulary_papers=1000, alpha=1e-4, epochs=10, seed=0)
    )
    vectorizer.fit(build_texts(papers["title"], papers["abstract"], FIELD))
    return TfidfFeatures.from_vectorizer(vectorizer)


def make_base(folder: Path, papers: pd.DataFrame, vectors: np.ndarray, features: TfidfFeatures, kind: str) -> tuple:
    shards, index_dir, postings_dir = folder / "vectors", folder / "index", folder / "lexical"
    for f in (shards, index_dir, postings_dir):
        f.mkdir(parents=True)
    import pyarrow.parquet as pq

    pq.write_table(vectors_table(papers["id"].tolist(), vectors), shards / "part-0.parquet")
    rerank = 10 if kind == "ivfpq" else 0
    cfg = IndexConfig(type=kind, hnsw_m=8, hnsw_ef_construction=40, hnsw_ef_search=40, ivf_nlist=2,
                      ivf_nprobe=2, pq_m=8, opq=False, train_size=1000, rerank=rerank, seed=0)  # fmt: skip
    build_index(shards, cfg, index_dir)
    write_papers(index_dir / PAPERS_FILE, zip(papers["id"], papers["title"], papers["primary_category"], strict=True))
    texts = build_texts(papers["title"], papers["abstract"], FIELD)
    write_postings((features.transform(t) for t in texts), features.size, postings_dir)
    return index_dir, postings_dir


def make_shard(folder: Path, name: str, rows: pd.DataFrame, vectors: np.ndarray) -> Shard:
    out = folder / name
    out.mkdir(parents=True)
    rows = rows.reindex(columns=SHARD_COLUMNS).astype(object)
    rows = rows.fillna(
        {"title": "", "abstract": "", "primary_category": "", "categories": "", "datestamp": "2026-12-01"}
    )
    rows["deleted"] = rows["deleted"].astype(object).fillna(False).astype(bool)
    rows[SHARD_COLUMNS].to_parquet(out / SHARD_PAPERS, index=False)
    live = rows[~rows["deleted"]]
    save_vectors(out / SHARD_VECTORS, live["id"].tolist(), vectors[: len(live)])
    (out / SHARD_INFO).write_text(json.dumps({"encoder": "e" * 64}))
    return Shard(name, out)


def files(folder: Path) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in folder.iterdir() if f.name != PAPERS_FILE}


def rows_of(folder: Path) -> list[tuple]:
    return PaperStore(folder / PAPERS_FILE).db.execute("SELECT * FROM papers ORDER BY pos").fetchall()


@pytest.mark.parametrize("kind", ["flat", "ivf", "ivfpq"])  # ivfpq with its fp16 re-rank vectors grown too
def test_grown_shard_by_shard_equals_grown_at_once(tmp_path, papers, features, kind) -> None:
    rng = np.random.default_rng(0)
    base, new = papers.iloc[:80].reset_index(drop=True), papers.iloc[80:].reset_index(drop=True)
    index_dir, postings_dir = make_base(tmp_path / "base", base, unit(rng, 80), features, kind)
    first = make_shard(tmp_path / "updates", "0001", new.iloc[:20], unit(rng, 20))
    replaced, withdrawn = base.iloc[3], base.iloc[5]
    second_rows = pd.concat([
        new.iloc[20:],
        pd.DataFrame([{**replaced.to_dict(), "title": "A second version"}]),
        pd.DataFrame([{"id": withdrawn["id"], "deleted": True}]),
    ], ignore_index=True)  # fmt: skip
    second_rows["datestamp"] = ["2026-11-30T09:00:00Z"] + ["2026-12-02"] * (len(second_rows) - 1)
    second = make_shard(tmp_path / "updates", "0002", second_rows, unit(rng, len(second_rows)))

    live = tmp_path / "live"
    one = grow(index_dir, postings_dir, [first], features, FIELD, live)
    two = grow(index_dir, postings_dir, [first, second], features, FIELD, live)
    scratch = tmp_path / "scratch"
    both = grow(index_dir, postings_dir, [first, second], features, FIELD, scratch)
    assert (one["shards_added"], two["shards_added"], both["shards_added"]) == (1, 1, 2)
    assert files(live) == files(scratch) and rows_of(live) == rows_of(scratch)
    assert two["size"] == 80 + 20 + len(new.iloc[20:]) + 1 and two["removed"] == 2
    assert (one["last_harvest_days"], two["last_harvest_days"]) == (["2026-12-01"] * 2, ["2026-11-30", "2026-12-02"])

    store, index = PaperStore(live / PAPERS_FILE), VectorIndex(live)
    assert store.live == store.size - 2 and store.newest_datestamp == "2026-12-02"
    assert store.position(withdrawn["id"]) is None
    new_position = store.position(replaced["id"])
    assert new_position >= 80 and store.rows([new_position])[0][1] == "A second version"
    assert store.positions([replaced["id"], withdrawn["id"]]) == {replaced["id"]: new_position}  # live rows only
    old_positions = np.array([3, 5])
    everything = index.search(np.stack([index.vector(p) for p in range(index.ntotal)]), 10)[1]
    assert not np.isin(everything, old_positions).any()  # a removed paper is nobody's neighbour, not even its own
    lexical = LexicalIndex(live, index.ntotal)
    texts = build_texts(base["title"], base["abstract"], FIELD)
    hits = lexical.search([features.transform(texts[3]), features.transform(texts[5])], 5)[1]
    assert not np.isin(hits, old_positions).any()

    # postings grown shard by shard equal postings written at once over the same papers
    grown = pd.concat([base, new.iloc[:20], second_rows.iloc[:-1]], ignore_index=True)
    at_once = tmp_path / "at_once"
    at_once.mkdir()
    texts = build_texts(grown["title"], grown["abstract"], FIELD)
    write_postings((features.transform(t) for t in texts), features.size, at_once)
    for ours, theirs in zip(read_postings(live), read_postings(at_once), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_a_changed_shard_or_base_starts_again_from_the_base(tmp_path, papers, features) -> None:
    rng = np.random.default_rng(1)
    base = papers.iloc[:80].reset_index(drop=True)
    index_dir, postings_dir = make_base(tmp_path / "base", base, unit(rng, 80), features, "flat")
    shard = make_shard(tmp_path / "a", "0001", papers.iloc[80:90], unit(rng, 10))
    live = tmp_path / "live"
    grow(index_dir, postings_dir, [shard], features, FIELD, live)
    changed = make_shard(tmp_path / "b", "0001", papers.iloc[90:100], unit(rng, 10))
    report = grow(index_dir, postings_dir, [changed], features, FIELD, live)
    assert report["shards_added"] == 1 and report["size"] == 90  # not 100: the old shard is gone
    assert PaperStore(live / PAPERS_FILE).position(papers.iloc[85]["id"]) is None
    none = grow(index_dir, postings_dir, [], features, FIELD, live)
    assert none["size"] == 80 and none["removed"] == 0 and none["encoder"] is None
    assert none["last_harvest_days"] is None
