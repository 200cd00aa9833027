"""Stage drift: how far each harvested shard is from the corpus and the test split, and whether to retrain.

Writes metrics/drift.json (the newest shard's measures, the bars, whether a retrain is due) and
metrics/drift.csv, one row per shard, which `dvc plots` draws as a time series.
"""

from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.classifier import HybridClassifier
from arxiv_embed.data.harvest import HarvestState
from arxiv_embed.data.split_vectors import split_vectors
from arxiv_embed.data.text import TextConfig
from arxiv_embed.evaluation.drift import DriftConfig, Reference, corpus_threshold, drift_summary, harvest_drift
from arxiv_embed.layout import LAYOUT
from arxiv_embed.search.index import VectorIndex
from arxiv_embed.search.papers import PAPERS_FILE, PaperStore
from arxiv_embed.stage import run_stage

COLUMNS = ["shard", "newest_datestamp", "papers", "category_divergence", "confidence_drop", "new_topic_share"]


@dataclass(frozen=True)
class Params:
    drift: DriftConfig
    text: TextConfig


def main(params: Params) -> dict:
    cfg, field, models = params.drift, params.text.field, LAYOUT.models
    classifier = HybridClassifier.load(models.classifier)
    index = VectorIndex(models.base_index)
    test = split_vectors(LAYOUT.adapted_split("test"), LAYOUT.split("test"))
    test_top1 = float(classifier.predict_proba(test.vectors, test.texts(field)).max(axis=1).mean())
    reference = Reference(
        index,
        PaperStore(models.base_index / PAPERS_FILE).column("category").tolist(),
        test_top1,
        corpus_threshold(index, cfg.reference_papers, cfg.seed),
    )
    shards = [(name, LAYOUT.update(name)) for name in HarvestState.read().shards]
    rows = harvest_drift(classifier, reference, shards, field)
    with atomic_path(LAYOUT.plot("drift")) as tmp:
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp, index=False)
    return drift_summary(rows, reference, cfg)


if __name__ == "__main__":
    run_stage("drift", main, Params)
