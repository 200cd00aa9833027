"""Stage baseline: TF-IDF + a linear classifier, and TF-IDF cosine neighbours over the same corpus.

The vectoriser and classifier learn from the train split, like the embedding classifier; neighbours are searched
in the corpus the served index holds, chunk by chunk, so the two P@k numbers answer the same question.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from arxiv_embed.classify.classifier import LinearClassifier
from arxiv_embed.classify.tfidf import TfidfConfig, make_vectorizer
from arxiv_embed.data.shards import iter_batches
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.evaluation.metrics import EvaluateConfig, classification_report, neighbour_labels, retrieval_report
from arxiv_embed.layout import CORPUS_DIR, split_path
from arxiv_embed.search.index import empty_top_k, merge_top_k
from arxiv_embed.stage import run_stage

CORPUS_CHUNK = 20_000  # corpus papers transformed and compared at a time
QUERY_CHUNK = 512


def chunk_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k highest scores of a dense chunk and their columns, in no particular order."""
    kth = min(k, scores.shape[1]) - 1
    top = np.argpartition(-scores, kth, axis=1)[:, : kth + 1]
    return np.take_along_axis(scores, top, axis=1), top


@dataclass(frozen=True)
class Params:
    tfidf: TfidfConfig
    text: TextConfig
    evaluate: EvaluateConfig  # scored at the served bundle's cut-offs, so the two P@k answer the same question


def main(params: Params) -> dict:
    cfg, field, ks = params.tfidf, params.text.field, params.evaluate.ks
    k = max(ks) + 1  # one more: the query paper itself is in the corpus
    train, test = (pd.read_parquet(split_path(s)) for s in ("train", "test"))
    vectorizer = make_vectorizer(cfg)
    x_train = vectorizer.fit_transform(build_texts(train["title"], train["abstract"], field))
    x_test = vectorizer.transform(build_texts(test["title"], test["abstract"], field))
    clf = LinearClassifier.fit(cfg.estimator(), x_train, train["primary_category"].to_numpy())
    report = classification_report(test["primary_category"], clf.predict(x_test))
    report.pop("per_category_f1")

    best = empty_top_k(len(test))
    ids, categories, cross_listed, offset = [], [], [], 0
    columns = ["id", "title", "abstract", "primary_category", "categories"]
    for chunk in iter_batches(CORPUS_DIR, columns, CORPUS_CHUNK):
        x_chunk = vectorizer.transform(build_texts(chunk["title"].to_pylist(), chunk["abstract"].to_pylist(), field))
        scores = np.vstack(
            [(x_test[s : s + QUERY_CHUNK] @ x_chunk.T).toarray() for s in range(0, len(test), QUERY_CHUNK)]
        )
        top_scores, top_columns = chunk_top_k(scores, k)
        best = merge_top_k(best, top_scores, top_columns + offset, k)
        ids.append(chunk["id"].to_numpy(zero_copy_only=False))
        categories.append(chunk["primary_category"].to_numpy(zero_copy_only=False))
        cross_listed.append(chunk["categories"].to_numpy(zero_copy_only=False))
        offset += chunk.num_rows
    corpus_ids = np.concatenate(ids)
    neighbours = neighbour_labels(test["id"], best[1], corpus_ids, np.concatenate(categories), max(ks))
    neighbour_lists = neighbour_labels(test["id"], best[1], corpus_ids, np.concatenate(cross_listed), max(ks))
    retrieval = retrieval_report(
        test["primary_category"].to_numpy(), neighbours, ks, test["categories"].tolist(), neighbour_lists
    )
    return {**retrieval, **report, "corpus": offset}


if __name__ == "__main__":
    run_stage("baseline", main, Params)
