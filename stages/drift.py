"""Stage drift: how far each harvested shard is from the corpus and the test split, and whether to retrain.

Writes metrics/drift.json (the newest shard's measures, the bars, whether a retrain is due) and
metrics/drift.csv, one row per shard, which `dvc plots` draws as a time series.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.classifier import HybridClassifier
from arxiv_embed.data.harvest import SHARD_PAPERS, SHARD_VECTORS, HarvestState
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.encode.vectors import load_vectors
from arxiv_embed.evaluation.drift import DriftConfig, corpus_threshold, nearest_similarity, over_bars, shard_drift
from arxiv_embed.layout import INDEX_DIR, METRICS_DIR, MODELS_DIR, UPDATES_DIR, adapted_path, split_path
from arxiv_embed.search.index import VectorIndex
from arxiv_embed.search.papers import PAPERS_FILE, PaperStore
from arxiv_embed.stage import run_stage

COLUMNS = ["shard", "newest_datestamp", "papers", "category_divergence", "confidence_drop", "new_topic_share"]


@dataclass(frozen=True)
class Params:
    drift: DriftConfig
    text: TextConfig


def main(params: Params) -> dict:
    cfg, field = params.drift, params.text.field
    classifier = HybridClassifier.load(MODELS_DIR / "classifier")
    index = VectorIndex(INDEX_DIR)
    corpus_categories = PaperStore(INDEX_DIR / PAPERS_FILE).column("category").tolist()
    test_ids, test_vectors = load_vectors(adapted_path("test"))
    test = pd.read_parquet(split_path("test")).set_index("id").loc[test_ids]
    test_top1 = float(
        classifier.predict_proba(test_vectors, build_texts(test["title"], test["abstract"], field)).max(axis=1).mean()
    )
    threshold = corpus_threshold(index, cfg.reference_papers, cfg.seed)
    rows = []
    for shard in HarvestState.read().shards:
        papers = pd.read_parquet(UPDATES_DIR / shard / SHARD_PAPERS)
        papers = papers[~papers["deleted"]]
        _, vectors = load_vectors(UPDATES_DIR / shard / SHARD_VECTORS)
        if not len(papers):
            continue
        top1 = classifier.predict_proba(vectors, build_texts(papers["title"], papers["abstract"], field)).max(axis=1)
        drift = shard_drift(
            papers["primary_category"].tolist(),
            corpus_categories,
            top1,
            test_top1,
            nearest_similarity(index, vectors),
            threshold,
        )
        rows.append({"shard": shard, "newest_datestamp": papers["datestamp"].max(), "papers": len(papers), **drift})
    with atomic_path(METRICS_DIR / "drift.csv") as tmp:
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp, index=False)
    latest = rows[-1] if rows else None
    over = over_bars(latest, cfg) if latest else []
    return {
        "shards": len(rows),
        "latest": latest,
        "test_mean_top1": round(test_top1, 4),
        "corpus_nn_similarity_p5": round(threshold, 4),
        "over": over,
        "retrain_due": bool(over),
        "bars": cfg.bars(),
        "new_topic_share_all": round(
            float(np.average([r["new_topic_share"] for r in rows], weights=[r["papers"] for r in rows])), 4
        )
        if rows
        else None,
    }


if __name__ == "__main__":
    run_stage("drift", main, Params)
