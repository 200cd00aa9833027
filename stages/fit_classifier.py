"""Stage fit_classifier: a linear model on the train split's embeddings and one on the pool's TF-IDF features,
blended and calibrated on val.

This stage reports what it chose on val and what each side learned from (`arxiv_embed.classify.fitting`), with
its peak memory; the served classifier's test accuracy and calibration are the evaluate stage's, measured on the
served path (queries encoded as the server does).
"""

import resource
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.classifier import ClassifierConfig
from arxiv_embed.classify.fitting import fit_classifier
from arxiv_embed.classify.tfidf import TfidfConfig
from arxiv_embed.data.pool import PoolReader
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
    cfg = params.classifier
    train, val = (split_vectors(LAYOUT.adapted_split(s), LAYOUT.split(s)) for s in ("train", "val"))
    pool = PoolReader(LAYOUT.pool, cfg.pool_papers, cfg.seed)
    fitted = fit_classifier(train, val, pool, params.text.field, cfg, params.tfidf)
    with atomic_path(LAYOUT.models.classifier, is_dir=True) as tmp:
        fitted.hybrid.save(tmp, fitted.spec)
    with atomic_path(LAYOUT.plot("classifier_blend")) as tmp:
        rows = [(w, b.log_loss, b.accuracy) for w, b in fitted.blends.items()]
        pd.DataFrame(rows, columns=["embedding_weight", "val_log_loss", "val_accuracy"]).to_csv(tmp, index=False)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    return {**fitted.report, "peak_rss_mib": round(peak_mib)}


if __name__ == "__main__":
    run_stage("fit_classifier", main, Params)
