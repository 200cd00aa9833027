"""Stage baseline: TF-IDF + logistic regression, and TF-IDF cosine neighbours, on the same split."""

import numpy as np
import pandas as pd
import scipy.sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from arxiv_embed.layout import split_path
from arxiv_embed.metrics import classification_report, neighbour_labels, retrieval_report
from arxiv_embed.stage import run_stage
from arxiv_embed.subsample import SPLITS
from arxiv_embed.text import build_texts


def main(params: dict) -> dict:
    cfg, field, ks = params["baseline"], params["text"]["field"], params["evaluate"]["ks"]
    k_max = max(ks)
    splits = {s: pd.read_parquet(split_path(s)) for s in SPLITS}
    texts = {s: build_texts(df["title"], df["abstract"], field) for s, df in splits.items()}
    vectorizer = TfidfVectorizer(
        sublinear_tf=True,
        max_features=cfg["max_features"],
        ngram_range=(1, cfg["max_ngram"]),
        min_df=2,
        stop_words="english",
    )
    x = {"train": vectorizer.fit_transform(texts["train"])}
    x.update({s: vectorizer.transform(texts[s]) for s in SPLITS if s != "train"})
    x_train, x_test = x["train"], x["test"]
    clf = LogisticRegression(C=cfg["C"], max_iter=cfg["max_iter"]).fit(x_train, splits["train"]["primary_category"])
    test = splits["test"]
    report = classification_report(test["primary_category"], clf.predict(x_test))
    report.pop("per_category_f1")

    corpus = pd.concat(splits.values())
    x_corpus = scipy.sparse.vstack([x[s] for s in SPLITS]).tocsr()  # same row order as `corpus`
    positions = []
    for start in range(0, x_test.shape[0], 512):
        sims = (x_test[start : start + 512] @ x_corpus.T).toarray()
        kth = min(k_max, sims.shape[1] - 1)
        top = np.argpartition(-sims, kth, axis=1)[:, : kth + 1]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        positions.append(np.take_along_axis(top, order, axis=1))
    neighbours = neighbour_labels(
        test["id"], np.concatenate(positions), corpus["id"], corpus["primary_category"], k_max
    )
    return {**retrieval_report(test["primary_category"].to_numpy(), neighbours, ks), **report}


if __name__ == "__main__":
    run_stage("baseline", main)
