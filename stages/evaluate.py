"""Stage evaluate: retrieval and classification quality of the served bundle (ONNX encoder + FAISS index)."""

import numpy as np
import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.bundle import load_bundle
from arxiv_embed.index import exact_index, search
from arxiv_embed.layout import METRICS_DIR, MODELS_DIR, embeddings_path, split_path
from arxiv_embed.metrics import (
    classification_report,
    neighbour_labels,
    per_category_precision,
    precision_curve,
    retrieval_report,
)
from arxiv_embed.stage import run_stage
from arxiv_embed.subsample import SPLITS
from arxiv_embed.text import build_texts
from arxiv_embed.vectors import load_vectors


def recall_against_exact(approx_positions: np.ndarray, queries: np.ndarray, k: int) -> float:
    """Share of the exact top-k that the approximate index also returns."""
    corpus = np.concatenate([load_vectors(embeddings_path(s))[1] for s in SPLITS])
    _, exact = search(exact_index(corpus), queries, k)
    hits = [len(set(a[:k]) & set(e)) for a, e in zip(approx_positions, exact, strict=True)]
    return float(np.mean(hits)) / k


def main(params: dict) -> dict:
    cfg = params["evaluate"]
    ks, k_max = cfg["ks"], max(cfg["ks"])
    bundle = load_bundle(MODELS_DIR, variant=cfg["onnx_variant"])
    test = pd.read_parquet(split_path("test"))
    texts = build_texts(test["title"], test["abstract"], bundle.manifest["text_field"])
    queries = bundle.encoder.encode(texts, batch_size=cfg["batch_size"], progress=True)
    _, positions = search(bundle.index, queries, k_max + 1)
    labels = test["primary_category"].to_numpy()
    neighbours = neighbour_labels(test["id"], positions, bundle.ids, bundle.categories, k_max)
    report = retrieval_report(labels, neighbours, ks)
    classified = classification_report(labels, bundle.classifier.predict(queries))
    report.update(accuracy=classified["accuracy"], macro_f1=classified["macro_f1"])
    report.update(queries=len(test), index_type=bundle.manifest["index_type"], onnx_variant=cfg["onnx_variant"])
    if bundle.manifest["index_type"] != "flat":
        report[f"index_recall@{k_max}"] = round(recall_against_exact(positions, queries, k_max), 4)
    with atomic_path(METRICS_DIR / "precision_at_k.csv") as tmp:
        pd.DataFrame(precision_curve(labels, neighbours)).to_csv(tmp, index=False)
    with atomic_path(METRICS_DIR / "eval_per_category.csv") as tmp:
        pd.DataFrame(per_category_precision(labels, neighbours, k_max)).to_csv(tmp, index=False)
    return report


if __name__ == "__main__":
    run_stage("eval", main)
