"""The TF-IDF baseline's neighbours: cosine of TF-IDF rows against the whole corpus, chunk by chunk, so that its
P@k answers the same question as the served index's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arxiv_embed.data.shards import iter_batches
from arxiv_embed.data.text import build_texts
from arxiv_embed.search.index import empty_top_k, merge_top_k

CORPUS_CHUNK = 20_000  # corpus papers transformed and compared at a time
QUERY_CHUNK = 512
COLUMNS = ["id", "title", "abstract", "primary_category", "categories"]


def chunk_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k highest scores of a dense chunk and their columns, in no particular order."""
    kth = min(k, scores.shape[1]) - 1
    top = np.argpartition(-scores, kth, axis=1)[:, : kth + 1]
    return np.take_along_axis(scores, top, axis=1), top


@dataclass(frozen=True)
class CorpusNeighbours:
    positions: np.ndarray  # (queries, k) corpus rows, best first
    ids: np.ndarray  # of the corpus, in row order
    categories: np.ndarray  # primary
    category_lists: np.ndarray  # cross-lists included


def tfidf_neighbours(vectorizer, queries, corpus: Path, field: str, k: int) -> CorpusNeighbours:
    """The top-k corpus papers of each TF-IDF query row in `queries` (a sparse matrix), by cosine."""
    best = empty_top_k(queries.shape[0])
    ids, categories, cross_listed, offset = [], [], [], 0
    for chunk in iter_batches(corpus, COLUMNS, CORPUS_CHUNK):
        x_chunk = vectorizer.transform(build_texts(chunk["title"].to_pylist(), chunk["abstract"].to_pylist(), field))
        scores = np.vstack(
            [(queries[s : s + QUERY_CHUNK] @ x_chunk.T).toarray() for s in range(0, queries.shape[0], QUERY_CHUNK)]
        )
        top_scores, top_columns = chunk_top_k(scores, k)
        best = merge_top_k(best, top_scores, top_columns + offset, k)
        ids.append(chunk["id"].to_numpy(zero_copy_only=False))
        categories.append(chunk["primary_category"].to_numpy(zero_copy_only=False))
        cross_listed.append(chunk["categories"].to_numpy(zero_copy_only=False))
        offset += chunk.num_rows
    return CorpusNeighbours(best[1], np.concatenate(ids), np.concatenate(categories), np.concatenate(cross_listed))
