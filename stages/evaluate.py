"""Stage evaluate: retrieval and classification quality of the served bundle (ONNX encoder + FAISS index).

Test papers are the queries; they search the whole served corpus, with each query paper itself excluded.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from arxiv_embed.atomic import atomic_path
from arxiv_embed.bundle import load_bundle
from arxiv_embed.data.shards import iter_batches
from arxiv_embed.data.text import build_texts
from arxiv_embed.evaluation.metrics import (
    EvaluateConfig,
    classification_report,
    neighbour_labels,
    per_category_precision,
    precision_curve,
    recall_at_k,
    retrieval_report,
)
from arxiv_embed.layout import CORPUS_DIR, CORPUS_VECTORS_DIR, METRICS_DIR, MODELS_DIR, split_path
from arxiv_embed.machine import cpu_isa
from arxiv_embed.search.index import exact_top_k
from arxiv_embed.stage import run_stage


def category_lists(corpus_ids: np.ndarray) -> np.ndarray:
    """Every corpus paper's categories (cross-lists included), in the served index's order."""
    table = pa.concat_tables(iter_batches(CORPUS_DIR, ["id", "categories"]))
    by_id = pd.Series(
        table["categories"].to_numpy(zero_copy_only=False), index=table["id"].to_numpy(zero_copy_only=False)
    )
    return by_id.reindex(corpus_ids).to_numpy()


@dataclass(frozen=True)
class Params:
    evaluate: EvaluateConfig


def main(params: Params) -> dict:
    cfg = params.evaluate
    ks, k_max = cfg.ks, max(cfg.ks)
    bundle = load_bundle(MODELS_DIR)
    test = pd.read_parquet(split_path("test"))
    texts = build_texts(test["title"], test["abstract"], bundle.manifest["text_field"])
    queries = bundle.encoder.encode(texts, batch_size=cfg.batch_size, progress=True)
    _, positions = bundle.index.search(queries, k_max + 1)
    labels = test["primary_category"].to_numpy()
    corpus_ids, corpus_categories = bundle.papers.column("id"), bundle.papers.column("category")
    neighbours = neighbour_labels(test["id"], positions, corpus_ids, corpus_categories, k_max)
    cross_listed = neighbour_labels(test["id"], positions, corpus_ids, category_lists(corpus_ids), k_max)
    report = retrieval_report(labels, neighbours, ks, test["categories"].tolist(), cross_listed)
    predicted = bundle.classifier.predict(queries, texts)
    served = classification_report(labels, predicted)
    embedding = classification_report(labels, bundle.classifier.embedding.predict(queries))
    report.update({k: v for k, v in served.items() if k.startswith("accuracy")}, macro_f1=served["macro_f1"])
    report.update({f"embedding_{k}": v for k, v in embedding.items() if k.startswith("accuracy")})
    report["embedding_weight"] = bundle.classifier.weight
    report.update(
        queries=len(test),
        corpus=len(bundle.papers),
        index_type=bundle.manifest["index_type"],
        onnx_variant=bundle.encoder.variant,
        versions=bundle.manifest["versions"],  # of the libraries that built the evaluated artifacts
        cpu=cpu_isa(),  # of this evaluation; floats, and so the metrics, move slightly from one CPU to another
    )
    if bundle.manifest["index_type"] != "flat":
        exact = exact_top_k(CORPUS_VECTORS_DIR, queries, k_max)
        report[f"index_recall@{k_max}"] = round(recall_at_k(positions, exact, k_max), 4)
    with atomic_path(METRICS_DIR / "precision_at_k.csv") as tmp:
        pd.DataFrame(precision_curve(labels, neighbours)).to_csv(tmp, index=False)
    with atomic_path(METRICS_DIR / "eval_per_category.csv") as tmp:
        pd.DataFrame(per_category_precision(labels, neighbours, k_max)).to_csv(tmp, index=False)
    with atomic_path(METRICS_DIR / "confusion.csv") as tmp:
        pd.DataFrame({"actual": labels, "predicted": predicted}).to_csv(tmp, index=False)
    with atomic_path(METRICS_DIR / "classifier_f1.csv") as tmp:
        f1 = served["per_category_f1"].items()
        pd.DataFrame(f1, columns=["category", "f1"]).to_csv(tmp, index=False)
    return report


if __name__ == "__main__":
    run_stage("eval", main, Params)
