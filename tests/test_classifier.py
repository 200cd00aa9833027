"""The array-only classifier reproduces scikit-learn's probabilities, survives a save/load round trip, and its
temperature makes the served probabilities calibrated; the out-of-core TF-IDF learner learns chunk by chunk what
one pass over all the papers learns, and the hybrid serves classes only the TF-IDF side saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from arxiv_embed.classify.classifier import (
    HybridClassifier,
    HybridSpec,
    LearnedFrom,
    LinearClassifier,
    fit_temperature,
    temperature_scale,
)
from arxiv_embed.classify.text_learner import fit_text_model
from arxiv_embed.classify.tfidf import TfidfConfig, TfidfFeatures, make_vectorizer
from arxiv_embed.data.sources import read_papers
from arxiv_embed.data.text import build_texts
from arxiv_embed.errors import PipelineError
from arxiv_embed.metrics import expected_calibration_error

TFIDF = TfidfConfig(max_features=2000, max_ngram=2, vocabulary_papers=1000, alpha=1e-4, epochs=20, seed=0)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_round_trip_matches_sklearn(tmp_path: Path, n_classes: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype(np.float32)
    y = np.array([f"c{i % n_classes}" for i in range(200)])
    x[np.arange(200), np.arange(200) % n_classes] += 2.0
    clf = LinearClassifier.fit(LogisticRegression(C=1.0, max_iter=500, random_state=0), x, y)
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
    vectorizer = make_vectorizer(TFIDF)
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


def chunked(texts: list[str], labels: np.ndarray, size: int):
    return ((texts[i : i + size], labels[i : i + size]) for i in range(0, len(texts), size))


def test_the_out_of_core_learner_learns_in_chunks_what_it_learns_at_once(papers) -> None:
    """Chunks of 16 papers give the classifier of one 1000-paper chunk; the vocabulary comes from the first
    `vocabulary_papers` papers only, so memory does not grow with the papers."""
    texts, labels = papers
    classes = np.unique(labels)
    whole = fit_text_model([(texts, labels)], classes, TFIDF)
    small = TfidfConfig(**{**vars(TFIDF), "vocabulary_papers": 40})
    chunks = fit_text_model(chunked(texts, labels, 16), classes, small)
    assert whole.papers == chunks.papers == len(texts)
    first_40 = make_vectorizer(small).fit(texts[:40]).vocabulary_
    assert chunks.vectorizer.vocabulary_ == first_40 and len(first_40) < len(whole.vectorizer.vocabulary_)
    x = whole.vectorizer.transform(texts)
    assert (whole.classifier.predict(x) == labels).mean() > 0.9
    same_vocabulary = fit_text_model(chunked(texts, labels, 16), classes, TFIDF)
    agree = same_vocabulary.classifier.predict(x) == whole.classifier.predict(x)
    assert agree.mean() > 0.9 and (same_vocabulary.classifier.predict(x) == labels).mean() > 0.9
    assert fit_text_model(chunked(texts, labels, 16), classes, TFIDF).classifier.coef.tolist() == (
        same_vocabulary.classifier.coef.tolist()
    )  # seeded


def test_the_tfidf_side_can_know_classes_the_embedding_side_never_saw(papers, tmp_path: Path) -> None:
    texts, labels = papers
    vectors = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float32)
    common = labels != labels[0]  # the embedding side never sees the first paper's category
    text = fit_text_model([(texts, labels)], np.unique(labels), TFIDF)
    embedding = LinearClassifier.fit(LogisticRegression(max_iter=500), vectors[common], labels[common])
    features = TfidfFeatures.from_vectorizer(text.vectorizer)
    hybrid = HybridClassifier(embedding, text.classifier, features, weight=0.5)
    assert hybrid.classes.tolist() == sorted(set(labels))
    probs = hybrid.embedding_proba(vectors)
    assert (probs[:, hybrid.classes.tolist().index(labels[0])] == 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert labels[0] in hybrid.predict(vectors, texts)
    with pytest.raises(PipelineError, match="lacks classes the embedding classifier knows"):
        HybridClassifier(text.classifier, embedding, features, weight=0.5)


def spec(weight: float, temperature: float) -> HybridSpec:
    side = LearnedFrom(train_papers=1, classes=2)
    return HybridSpec(weight=weight, temperature=temperature, embedding=side, tfidf=side, val_log_loss={})


def test_hybrid_blends_the_two_models(papers: tuple[list[str], np.ndarray], tmp_path: Path) -> None:
    texts, labels = papers
    vectors = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float32)  # uninformative
    vectorizer = make_vectorizer(TFIDF)
    text = LinearClassifier.fit(TFIDF.estimator(), vectorizer.fit_transform(texts), labels)
    embedding = LinearClassifier.fit(LogisticRegression(C=10.0, max_iter=500), vectors, labels)
    hybrid = HybridClassifier(embedding, text, TfidfFeatures.from_vectorizer(vectorizer), weight=0.25, temperature=0.5)
    hybrid.save(tmp_path, spec(0.25, 0.5))
    loaded = HybridClassifier.load(tmp_path)
    probs = loaded.predict_proba(vectors, texts)
    blend = 0.25 * embedding.predict_proba(vectors) + 0.75 * text.predict_proba(vectorizer.transform(texts))
    np.testing.assert_allclose(loaded.blended_proba(vectors, texts), blend, atol=1e-5)
    expected = blend**2 / (blend**2).sum(axis=1, keepdims=True)  # temperature 0.5: p^2, renormalised
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert loaded.weight == 0.25 and loaded.temperature == 0.5
    assert (loaded.predict(vectors, texts) == labels).mean() > 0.9


def test_temperature_calibrates_overconfident_and_underconfident_probabilities() -> None:
    """Papers whose true class has probability q: the fitted temperature brings top-1 confidence to accuracy."""
    rng = np.random.default_rng(0)
    classes = np.array(["a", "b", "c", "d"])
    truth = rng.integers(0, 4, 4000)
    right = rng.random(4000) < 0.7  # the top class is right 70% of the time
    top = np.where(right, truth, (truth + rng.integers(1, 4, 4000)) % 4)
    for confidence in (0.35, 0.97):  # under- and over-confident
        probs = np.full((4000, 4), (1 - confidence) / 3)
        probs[np.arange(4000), top] = confidence
        y = classes[truth]
        before = expected_calibration_error(probs, classes, y)
        after = expected_calibration_error(temperature_scale(probs, fit_temperature(y, classes, probs)), classes, y)
        assert before > 0.25 and after < 0.03
