"""Choosing the served search mode on val, without `dvc repro`: a tiny searcher over real papers."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

from arxiv_embed.classify.tfidf import TfidfFeatures, make_vectorizer
from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.split_vectors import SplitVectors
from arxiv_embed.layout import ModelFolders
from arxiv_embed.search.index import INDEX_CONFIG_FILE, INDEX_FILE, VectorIndex
from arxiv_embed.search.lexical import LexicalIndex, write_postings
from arxiv_embed.search.mode_selection import ValQueries, choose_mode
from arxiv_embed.search.modes import FUSION_WEIGHTS, SEARCH_MODES, Fusion, Searcher, SearchSpec, search_files
from tests.test_lexical import TFIDF


def test_choose_mode_scores_every_mode_and_weight_and_leaves_the_searcher_as_it_was(
    tiny_source: Path, tmp_path: Path
) -> None:
    rows = read_papers(tiny_source)[0]
    papers = pd.DataFrame(rows).set_index("id")
    texts = [f"{r['title']}. {r['abstract']}" for r in rows]
    features = TfidfFeatures.from_vectorizer(make_vectorizer(TFIDF).fit(texts))
    dense = np.random.default_rng(0).normal(size=(len(rows), 16)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    flat = faiss.IndexFlatIP(16)
    flat.add(dense)
    faiss.write_index(flat, str(tmp_path / INDEX_FILE))
    (tmp_path / INDEX_CONFIG_FILE).write_text(json.dumps({"type": "flat"}))
    write_postings((features.transform(t) for t in texts), features.size, tmp_path)
    index = VectorIndex(tmp_path)
    searcher = Searcher(index, LexicalIndex(tmp_path, len(rows)), features, Fusion(0.5, 60, 20))
    ids = papers.index.to_numpy()
    val = SplitVectors(ids[:30], dense[:30], papers.loc[ids[:30]])
    labels = papers["primary_category"].to_numpy()
    choice = choose_mode(searcher, ValQueries(val, texts[:30], ids, labels))

    assert set(choice.by_mode) == set(SEARCH_MODES) and set(choice.by_weight) == set(FUSION_WEIGHTS)
    assert choice.by_mode["lexical"] > choice.by_mode["dense"]  # random vectors against real words
    assert choice.by_mode["hybrid"] == max(choice.by_weight.values())
    assert choice.default_mode == max(SEARCH_MODES, key=lambda m: (choice.by_mode[m], m == "dense"))
    assert (choice.fusion.rrf_k, choice.fusion.candidates) == (60, 20)
    assert searcher.fusion == Fusion(0.5, 60, 20)  # scored on copies: the searcher passed in is unchanged


def test_a_bundle_carries_every_modes_artifacts_and_the_spec(tmp_path: Path) -> None:
    models = ModelFolders(tmp_path)
    names = [models.name_of(f) for f in search_files(models)]
    assert names[-1] == "lexical/search.json" and len(names) == len(set(names))
    assert all(name.startswith(("live_index/postings_", "live_index/rows_")) for name in names[:-1])
    models.lexical.mkdir()
    SearchSpec.of(Fusion(0.6, 60, 100), "hybrid", {"dense": 0.5}).save(models.lexical)
    spec = json.loads((models.lexical / "search.json").read_text())
    assert spec == {
        "default_mode": "hybrid",
        "weight": 0.6,
        "rrf_k": 60,
        "candidates": 100,
        "val_p_at_10": {"dense": 0.5},
    }
