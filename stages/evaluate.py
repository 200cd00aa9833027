"""Stage evaluate: retrieval and classification quality of the served bundle (ONNX encoder + FAISS index).

Test papers are the queries; they search the whole served corpus, with each query paper itself excluded.
"""

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.bundle import load_bundle
from arxiv_embed.index import exact_top_k
from arxiv_embed.layout import CORPUS_VECTORS_DIR, METRICS_DIR, MODELS_DIR, split_path
from arxiv_embed.metrics import (
    classification_report,
    neighbour_labels,
    per_category_precision,
    precision_curve,
    recall_at_k,
    retrieval_report,
)
from arxiv_embed.stage import run_stage
from arxiv_embed.text import build_texts


def main(params: dict) -> dict:
    cfg = params["evaluate"]
    ks, k_max = cfg["ks"], max(cfg["ks"])
    bundle = load_bundle(MODELS_DIR)
    test = pd.read_parquet(split_path("test"))
    texts = build_texts(test["title"], test["abstract"], bundle.manifest["text_field"])
    queries = bundle.encoder.encode(texts, batch_size=cfg["batch_size"], progress=True)
    _, positions = bundle.index.search(queries, k_max + 1)
    labels = test["primary_category"].to_numpy()
    corpus_ids, corpus_categories = bundle.papers.column("id"), bundle.papers.column("category")
    neighbours = neighbour_labels(test["id"], positions, corpus_ids, corpus_categories, k_max)
    report = retrieval_report(labels, neighbours, ks)
    classified = classification_report(labels, bundle.classifier.predict(queries))
    report.update(accuracy=classified["accuracy"], macro_f1=classified["macro_f1"])
    report.update(
        queries=len(test),
        corpus=len(bundle.papers),
        index_type=bundle.manifest["index_type"],
        onnx_variant=bundle.encoder.variant,
    )
    if bundle.manifest["index_type"] != "flat":
        exact = exact_top_k(CORPUS_VECTORS_DIR, queries, k_max)
        report[f"index_recall@{k_max}"] = round(recall_at_k(positions, exact, k_max), 4)
    with atomic_path(METRICS_DIR / "precision_at_k.csv") as tmp:
        pd.DataFrame(precision_curve(labels, neighbours)).to_csv(tmp, index=False)
    with atomic_path(METRICS_DIR / "eval_per_category.csv") as tmp:
        pd.DataFrame(per_category_precision(labels, neighbours, k_max)).to_csv(tmp, index=False)
    return report


if __name__ == "__main__":
    run_stage("eval", main)
