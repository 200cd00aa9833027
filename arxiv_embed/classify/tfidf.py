"""TF-IDF features stored as plain arrays: scikit-learn fits them, numpy transforms them.

The serving image has neither scikit-learn nor scipy, so the fitted vocabulary, idf and stop words are written as
JSON + npz and `TfidfFeatures.transform` redoes scikit-learn's analyzer (lowercase, `\\b\\w\\w+\\b` tokens, stop
words dropped before word n-grams, sublinear tf, idf, L2) for one text at a time.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import PositiveFloat

from arxiv_embed.params import Count, params_section

TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
TERMS_FILE = "tfidf_terms.json"
IDF_FILE = "tfidf_idf.npy"


@params_section
class TfidfConfig:
    """The shared `tfidf` section: the TF-IDF model (vectoriser + a linear classifier) that the baseline stage
    scores alone and that the served classifier blends with the embedding model."""

    max_features: Count
    max_ngram: Count
    vocabulary_papers: Count  # the vocabulary and idf are fitted on at most this many papers: it bounds memory
    alpha: PositiveFloat  # L2 strength of the SGD logistic regression
    epochs: Count  # SGD passes over the training papers
    seed: int

    def estimator(self):
        """One-vs-rest logistic regression by SGD, fed chunk by chunk (`partial_fit`): its cost grows linearly with
        the papers and its memory does not grow at all, where L-BFGS's multinomial fit takes minutes on two cores
        for ~20k papers x 100k sparse features and holds them all."""
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(loss="log_loss", alpha=self.alpha, n_jobs=-1, random_state=self.seed)


def make_vectorizer(cfg: TfidfConfig):
    """The one TF-IDF configuration of the project: the baseline and the hybrid classifier both fit this."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        sublinear_tf=True, max_features=cfg.max_features, ngram_range=(1, cfg.max_ngram), min_df=2, stop_words="english"
    )


@dataclass(frozen=True)
class TfidfFeatures:
    """A fitted vectoriser's state: term -> column, idf per column, n-gram length and stop words."""

    columns: dict[str, int]
    idf: np.ndarray
    max_ngram: int
    stop_words: frozenset[str]

    @classmethod
    def from_vectorizer(cls, vectorizer) -> TfidfFeatures:
        return cls(
            columns={term: int(col) for term, col in vectorizer.vocabulary_.items()},
            idf=vectorizer.idf_.astype(np.float32),
            max_ngram=vectorizer.ngram_range[1],
            stop_words=frozenset(vectorizer.get_stop_words() or ()),
        )

    @property
    def size(self) -> int:
        return len(self.idf)

    def terms(self, text: str) -> list[str]:
        tokens = [t for t in TOKEN_PATTERN.findall(text.lower()) if t not in self.stop_words]
        grams = list(tokens)
        for n in range(2, self.max_ngram + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams

    def transform(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's non-zero features as (columns, values), L2-normalised like scikit-learn's rows."""
        counts = Counter(c for c in map(self.columns.get, self.terms(text)) if c is not None)
        columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(n) for n in counts.values()), dtype=np.float32, count=len(counts))
        values = tf * self.idf[columns]
        norm = float(np.linalg.norm(values))
        return columns, values / norm if norm else values

    def save(self, folder: Path) -> None:
        terms = sorted(self.columns, key=self.columns.get)
        spec = {"terms": terms, "max_ngram": self.max_ngram, "stop_words": sorted(self.stop_words)}
        (folder / TERMS_FILE).write_text(json.dumps(spec))
        np.save(folder / IDF_FILE, self.idf)

    @classmethod
    def load(cls, folder: Path) -> TfidfFeatures:
        spec = json.loads((folder / TERMS_FILE).read_text())
        idf = np.load(folder / IDF_FILE, allow_pickle=False)
        columns = {term: i for i, term in enumerate(spec["terms"])}
        return cls(columns, idf, spec["max_ngram"], frozenset(spec["stop_words"]))
