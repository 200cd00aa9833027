"""Stage baseline: TF-IDF + logistic regression, and TF-IDF cosine neighbours over the same corpus.

The vectoriser and classifier learn from the train split, like the embedding classifier; neighbours are searched
in the corpus the served index holds, chunk by chunk, so the two P@k numbers answer the same question.
"""

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from arxiv_embed.index import empty_top_k, merge_top_k
from arxiv_embed.layout import CORPUS_DIR, split_path
from arxiv_embed.metrics import classification_report, neighbour_labels, retrieval_report
from arxiv_embed.shards import iter_batches
from arxiv_embed.stage import run_stage
from arxiv_embed.text import build_texts

CORPUS_CHUNK = 20_000  # corpus papers transformed and compared at a time
QUERY_CHUNK = 512


def chunk_top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k highest scores of a dense chunk and their columns, in no particular order."""
    kth = min(k, scores.shape[1]) - 1
    top = np.argpartition(-scores, kth, axis=1)[:, : kth + 1]
    return np.take_along_axis(scores, top, axis=1), top


def main(params: dict) -> dict:
    cfg, field, ks = params["baseline"], params["text"]["field"], params["evaluate"]["ks"]
    k = max(ks) + 1  # one more: the query paper itself is in the corpus
    train, test = (pd.read_parquet(split_path(s)) for s in ("train", "test"))
    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        max_features=cfg["max_features"],
        ngram_range=(1, cfg["max_ngram"]),
        min_df=2,
        stop_words="english",
    )
    x_train = vectorizer.fit_transform(build_texts(train["title"], train["abstract"], field))
    x_test = vectorizer.transform(build_texts(test["title"], test["abstract"], field))
    clf = LogisticRegression(C=cfg["C"], max_iter=cfg["max_iter"]).fit(x_train, train["primary_category"])
    report = classification_report(test["primary_category"], clf.predict(x_test))
    report.pop("per_category_f1")

    best = empty_top_k(len(test))
    ids, categories, offset = [], [], 0
    for chunk in iter_batches(CORPUS_DIR, ["id", "title", "abstract", "primary_category"], CORPUS_CHUNK):
        x_chunk = vectorizer.transform(build_texts(chunk["title"].to_pylist(), chunk["abstract"].to_pylist(), field))
        scores = np.vstack(
            [(x_test[s : s + QUERY_CHUNK] @ x_chunk.T).toarray() for s in range(0, len(test), QUERY_CHUNK)]
        )
        top_scores, top_columns = chunk_top_k(scores, k)
        best = merge_top_k(best, top_scores, top_columns + offset, k)
        ids.append(chunk["id"].to_numpy(zero_copy_only=False))
        categories.append(chunk["primary_category"].to_numpy(zero_copy_only=False))
        offset += chunk.num_rows
    neighbours = neighbour_labels(test["id"], best[1], np.concatenate(ids), np.concatenate(categories), max(ks))
    return {**retrieval_report(test["primary_category"].to_numpy(), neighbours, ks), **report, "corpus": offset}


if __name__ == "__main__":
    run_stage("baseline", main)
