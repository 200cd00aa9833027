"""Stage baseline: TF-IDF + a linear classifier, and TF-IDF cosine neighbours over the same corpus.

The vectoriser and classifier learn from the train split, like the embedding classifier (the served classifier's
TF-IDF half learns the same way from the whole labelled pool); neighbours are searched in the corpus the served
index holds, so the two P@k numbers answer the same question.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from arxiv_embed.classify.text_learner import fit_text_model
from arxiv_embed.classify.tfidf import TfidfConfig
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.evaluation.tfidf_baseline import tfidf_neighbours
from arxiv_embed.layout import LAYOUT
from arxiv_embed.metrics import EvaluateConfig, classification_report, neighbour_labels, retrieval_report
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    tfidf: TfidfConfig
    text: TextConfig
    evaluate: EvaluateConfig  # scored at the served bundle's cut-offs, so the two P@k answer the same question


def main(params: Params) -> dict:
    cfg, field, ks = params.tfidf, params.text.field, params.evaluate.ks
    train, test = (pd.read_parquet(LAYOUT.split(s)) for s in ("train", "test"))
    labels = train["primary_category"].to_numpy()
    model = fit_text_model([(build_texts(train["title"], train["abstract"], field), labels)], np.unique(labels), cfg)
    vectorizer = model.vectorizer
    x_test = vectorizer.transform(build_texts(test["title"], test["abstract"], field))
    report = classification_report(test["primary_category"], model.classifier.predict(x_test))
    report.pop("per_category_f1")
    found = tfidf_neighbours(vectorizer, x_test, LAYOUT.corpus, field, max(ks) + 1)  # +1: the query paper itself
    neighbours = neighbour_labels(test["id"], found.positions, found.ids, found.categories, max(ks))
    neighbour_lists = neighbour_labels(test["id"], found.positions, found.ids, found.category_lists, max(ks))
    retrieval = retrieval_report(
        test["primary_category"].to_numpy(), neighbours, ks, test["categories"].tolist(), neighbour_lists
    )
    return {**retrieval, **report, "corpus": len(found.ids)}


if __name__ == "__main__":
    run_stage("baseline", main, Params)
