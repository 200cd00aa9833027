"""The array-only classifier reproduces scikit-learn's probabilities and survives a save/load round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from arxiv_embed.classify.classifier import HybridClassifier, LinearClassifier
from arxiv_embed.classify.tfidf import TfidfConfig, TfidfFeatures, make_vectorizer
from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.text import build_texts


@pytest.mark.parametrize("n_classes", [2, 4])
def test_round_trip_matches_sklearn(tmp_path: Path, n_classes: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    y = np.array([f"c{i % n_classes}" for i in range(200)])
    x[np.arange(200), np.arange(200) % n_classes] += 2.0
    clf = LinearClassifier.fit(x, y, c=1.0, max_iter=500, seed=0)
    clf.save(tmp_path / "clf.npz")
    loaded = LinearClassifier.load(tmp_path / "clf.npz")
    reference = LogisticRegression(C=1.0, max_iter=500, random_state=0).fit(x, y)
    np.testing.assert_allclose(loaded.predict_proba(x), reference.predict_proba(x), atol=1e-4)
    assert (loaded.predict(x) == reference.predict(x)).all()
    assert loaded.classes.tolist() == sorted(set(y))


@pytest.fixture(scope="module")
def papers(tiny_source: Path) -> tuple[list[str], np.ndarray]:
    rows = read_papers(tiny_source)[0]
    texts = build_texts([r["title"] for r in rows], [r["abstract"] for r in rows], "title_abstract")
    return texts, np.array([r["primary_category"] for r in rows])


def test_numpy_tfidf_is_sklearns(papers: tuple[list[str], np.ndarray], tmp_path: Path) -> None:
    """The server's TF-IDF (arrays + JSON, no scikit-learn) gives scikit-learn's rows, after a save/load."""
    texts, _ = papers
    vectorizer = make_vectorizer(TfidfConfig(max_features=2000, max_ngram=2, C=1.0, max_iter=500))
    reference = vectorizer.fit_transform(texts[:80]).toarray()
    reference_unseen = vectorizer.transform(texts[80:] + ["", "The THE the: an unseen-word text"]).toarray()
    TfidfFeatures.from_vectorizer(vectorizer).save(tmp_path)
    features = TfidfFeatures.load(tmp_path)
    for text, expected in zip(
        texts[:80] + texts[80:] + ["", "The THE the: an unseen-word text"],
        np.vstack([reference, reference_unseen]),
        strict=True,
    ):
        columns, values = features.transform(text)
        row = np.zeros(features.size, np.float32)
        row[columns] = values
        np.testing.assert_allclose(row, expected, atol=1e-6)


def test_hybrid_blends_the_two_models(papers: tuple[list[str], np.ndarray], tmp_path: Path) -> None:
    texts, labels = papers
    vectors = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float32)  # uninformative
    vectorizer = make_vectorizer(TfidfConfig(max_features=2000, max_ngram=2, C=1.0, max_iter=500))
    text = LinearClassifier.fit(vectorizer.fit_transform(texts), labels, c=10.0, max_iter=500)
    embedding = LinearClassifier.fit(vectors, labels, c=10.0, max_iter=500)
    hybrid = HybridClassifier(embedding, text, TfidfFeatures.from_vectorizer(vectorizer), weight=0.25)
    hybrid.save(tmp_path, note="test")
    loaded = HybridClassifier.load(tmp_path)
    probs = loaded.predict_proba(vectors, texts)
    expected = 0.25 * embedding.predict_proba(vectors) + 0.75 * text.predict_proba(vectorizer.transform(texts))
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert loaded.weight == 0.25 and (loaded.predict(vectors, texts) == labels).mean() > 0.9
