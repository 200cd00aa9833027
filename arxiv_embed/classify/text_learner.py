"""The TF-IDF classifier learned out of core, so that it can learn from every labelled paper, not only the corpus.

One pass over the papers: the vectoriser is fitted on the first `tfidf.vocabulary_papers` of them (the vocabulary
and idf of a large random sample are those of the whole), every chunk's features go to a scratch folder once, and
each SGD epoch reads them back one chunk at a time in a seeded order. Time grows linearly with the papers; memory
is bounded by the vocabulary sample and one chunk, whatever the number of papers.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from arxiv_embed.classify.classifier import LinearClassifier
from arxiv_embed.classify.tfidf import TfidfConfig, make_vectorizer

log = logging.getLogger(__name__)

Chunk = tuple[list[str], np.ndarray]  # texts and their primary categories


@dataclass(frozen=True)
class TextModel:
    vectorizer: Any  # the fitted scikit-learn TfidfVectorizer
    classifier: LinearClassifier
    papers: int  # learned from
    scratch_bytes: int  # of the cached features on disk while it learned: they grow with the papers, memory does not


def fit_text_model(chunks: Iterable[Chunk], classes: np.ndarray, cfg: TfidfConfig) -> TextModel:
    """Fit the vectoriser and the SGD classifier over `classes` (a superset of the labels) on `chunks`."""
    chunks = iter(chunks)
    sample: list[Chunk] = []
    for chunk in chunks:
        sample.append(chunk)
        if sum(len(texts) for texts, _ in sample) >= cfg.vocabulary_papers:
            break
    vocabulary_texts = [text for texts, _ in sample for text in texts][: cfg.vocabulary_papers]
    vectorizer = make_vectorizer(cfg).fit(vocabulary_texts)
    log.info("tfidf: %d terms from %d papers", len(vectorizer.vocabulary_), len(vocabulary_texts))
    del vocabulary_texts
    model, papers = cfg.estimator(), 0
    with tempfile.TemporaryDirectory(prefix="tfidf-chunks-") as scratch:
        cached = []
        for number, (texts, labels) in enumerate(tqdm(chain(sample, chunks), desc="tfidf features", unit="chunk")):
            cached.append(_cache(vectorizer, texts, labels, Path(scratch) / f"{number}.npz"))
            papers += len(texts)
        sample.clear()
        scratch_bytes = sum(path.stat().st_size for path in cached)
        order = np.random.default_rng(cfg.seed)
        for _ in tqdm(range(cfg.epochs), desc="tfidf sgd", unit="epoch"):
            for number in order.permutation(len(cached)):
                model.partial_fit(*_load(cached[number]), classes=classes)
    return TextModel(vectorizer, LinearClassifier.of(model), papers, scratch_bytes)


def _cache(vectorizer, texts: list[str], labels: np.ndarray, path: Path) -> Path:
    x = vectorizer.transform(texts).astype(np.float32)
    np.savez(path, data=x.data, indices=x.indices, indptr=x.indptr, shape=x.shape, labels=np.asarray(labels, str))
    return path


def _load(path: Path) -> tuple[sp.csr_matrix, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return sp.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=tuple(f["shape"])), f["labels"]
