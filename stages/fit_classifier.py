"""Stage fit_classifier: linear models on embeddings and on TF-IDF, blended and calibrated on val.

This stage reports what it chose on val (`arxiv_embed.classify.fitting`); the served classifier's test accuracy
and calibration are the evaluate stage's, measured on the served path (queries encoded as the server does).
"""

from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.classifier import ClassifierConfig
from arxiv_embed.classify.fitting import fit_classifier
from arxiv_embed.classify.tfidf import TfidfConfig
from arxiv_embed.data.split_vectors import split_vectors
from arxiv_embed.data.text import TextConfig
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    classifier: ClassifierConfig
    tfidf: TfidfConfig
    text: TextConfig


def main(params: Params) -> dict:
    train, val = (split_vectors(LAYOUT.adapted_split(s), LAYOUT.split(s)) for s in ("train", "val"))
    fitted = fit_classifier(train, val, params.text.field, params.classifier, params.tfidf)
    with atomic_path(LAYOUT.models.classifier, is_dir=True) as tmp:
        fitted.hybrid.save(tmp, val_accuracy={str(w): round(a, 4) for w, a in fitted.val_accuracy.items()})
    with atomic_path(LAYOUT.plot("classifier_blend")) as tmp:
        rows = fitted.val_accuracy.items()
        pd.DataFrame(rows, columns=["embedding_weight", "val_accuracy"]).to_csv(tmp, index=False)
    return fitted.report


if __name__ == "__main__":
    run_stage("fit_classifier", main, Params)
