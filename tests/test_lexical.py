"""Lexical search from memory-mapped postings equals scikit-learn's TF-IDF cosine; the fusion ranks as RRF says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arxiv_embed.classify.tfidf import TfidfConfig, TfidfFeatures, make_vectorizer
from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.text import build_texts
from arxiv_embed.search.lexical import LexicalIndex, write_postings
from arxiv_embed.search.modes import reciprocal_rank_fusion

TFIDF = TfidfConfig(max_features=3000, max_ngram=2, vocabulary_papers=1000, alpha=1e-4, epochs=20, seed=0)


@pytest.fixture(scope="module")
def texts(tiny_source: Path) -> list[str]:
    rows = read_papers(tiny_source)[0]
    return build_texts([r["title"] for r in rows], [r["abstract"] for r in rows], "title_abstract")


def test_postings_search_equals_sklearn_cosine(texts: list[str], tmp_path: Path) -> None:
    vectorizer = make_vectorizer(TFIDF)
    matrix = vectorizer.fit_transform(texts[:90])  # the corpus's rows, from the same vocabulary
    features = TfidfFeatures.from_vectorizer(vectorizer)
    stats = write_postings((features.transform(t) for t in texts[:90]), features.size, tmp_path)
    assert stats == {"papers": 90, "terms": features.size, "postings": matrix.nnz}
    index = LexicalIndex(tmp_path, 90)
    assert isinstance(index.docs.base, np.memmap)  # the server maps the postings, it does not load them
    queries = [*texts[90:], "spectral graph theory", "zzzz qqqq xxxx"]
    scores, positions = index.search([features.transform(q) for q in queries], 5)
    expected = (vectorizer.transform(queries) @ matrix.T).toarray()
    for row, (s, p) in enumerate(zip(scores, positions, strict=True)):
        found = p >= 0
        np.testing.assert_allclose(s[found], expected[row, p[found]], atol=1e-5)
        best = np.sort(expected[row][expected[row] > 0])[::-1][:5]
        np.testing.assert_allclose(s[found], best, atol=1e-5)
    assert (positions[-1] == -1).all()  # nothing shares a term with it
    for (cols, vals), text in zip(index.rows([3, 0, 89]), [texts[3], texts[0], texts[89]], strict=True):
        expected_cols, expected_vals = features.transform(text)  # each paper's own row, for /recommend
        order = np.argsort(expected_cols)
        np.testing.assert_array_equal(np.sort(cols), expected_cols[order])
        np.testing.assert_allclose(vals[np.argsort(cols)], expected_vals[order], atol=1e-6)


def test_reciprocal_rank_fusion() -> None:
    dense = np.array([[3, 1, 2, -1]])
    lexical = np.array([[1, 4, 3, 2]])
    scores, positions = reciprocal_rank_fusion([dense, lexical], [0.5, 0.5], rrf_k=0, k=3)
    # halves of: 1: 1/2 + 1/1, 3: 1/1 + 1/3, 2: 1/3 + 1/4, 4: 1/2
    assert positions[0].tolist() == [1, 3, 2]
    np.testing.assert_allclose(scores[0], [0.75, 2 / 3, 7 / 24], atol=1e-6)
    _, dense_only = reciprocal_rank_fusion([dense, lexical], [1.0, 0.0], rrf_k=60, k=3)
    assert dense_only[0].tolist() == [3, 1, 2]
