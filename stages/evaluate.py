"""Stage evaluate: retrieval and classification quality of the served bundle, on the served path.

Test papers are the queries, encoded as the server encodes them; they search the whole served corpus in every
search mode, each query paper itself excluded. The top-level P@k are the served default mode's; the classifier's
accuracy, calibration error and reliability diagram are the served (calibrated) probabilities', beside the
accuracy of each of its parts and of a vote of the ten nearest neighbours. Every number goes to
metrics/eval.json; the headline ones and the plots (P@k curve, per-category P@10 and F1, reliability, confusion)
go through DVCLive to dvclive/evaluate.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from arxiv_embed.bundle import load_bundle
from arxiv_embed.data.shards import iter_batches
from arxiv_embed.data.text import build_texts
from arxiv_embed.evaluation.metrics import (
    HEADLINE_METRICS,
    EvaluateConfig,
    classification_report,
    expected_calibration_error,
    neighbour_labels,
    per_category_precision,
    precision_curve,
    recall_at_k,
    reliability,
    retrieval_report,
)
from arxiv_embed.layout import ADAPTED_CORPUS_DIR, CORPUS_DIR, EVALUATE_LIVE_DIR, MODELS_DIR, split_path
from arxiv_embed.live import stage_live
from arxiv_embed.machine import cpu_isa
from arxiv_embed.search.index import exact_top_k
from arxiv_embed.search.modes import SEARCH_MODES
from arxiv_embed.stage import run_stage


def category_lists(corpus_ids: np.ndarray, primary: np.ndarray) -> np.ndarray:
    """Every corpus paper's categories (cross-lists included), in the served index's order; a harvested paper
    that the corpus does not hold counts its primary category."""
    table = pa.concat_tables(iter_batches(CORPUS_DIR, ["id", "categories"]))
    by_id = pd.Series(
        table["categories"].to_numpy(zero_copy_only=False), index=table["id"].to_numpy(zero_copy_only=False)
    )
    lists = by_id.reindex(corpus_ids).to_numpy()
    harvested = pd.isna(lists)
    lists[harvested] = primary[harvested]
    return lists


def knn_vote(neighbours: np.ndarray) -> np.ndarray:
    """The most frequent category among each query's neighbours; ties go to the one ranked first."""
    votes = []
    for row in neighbours:
        labels = [label for label in row if label is not None]
        counts = {label: labels.count(label) for label in labels}
        votes.append(max(labels, key=lambda label: (counts[label], -labels.index(label))) if labels else "")
    return np.array(votes, dtype=object)


@dataclass(frozen=True)
class Params:
    evaluate: EvaluateConfig


def main(params: Params) -> dict:
    cfg = params.evaluate
    ks, k_max = cfg.ks, max(cfg.ks)
    bundle = load_bundle(MODELS_DIR)
    test = pd.read_parquet(split_path("test"))
    texts = build_texts(test["title"], test["abstract"], bundle.manifest["text_field"])
    queries = bundle.encoder.encode(texts, progress=True)
    labels = test["primary_category"].to_numpy()
    corpus_ids, corpus_categories = bundle.papers.column("id"), bundle.papers.column("category")
    corpus_lists = category_lists(corpus_ids, corpus_categories)
    served_mode = bundle.searcher.default_mode
    report: dict = {"search_mode": served_mode, "bundle_version": bundle.manifest["version"]}
    modes: dict = {}
    for mode in SEARCH_MODES:
        _, positions = bundle.searcher.run(mode, queries, texts, k_max + 1)
        neighbours = neighbour_labels(test["id"], positions, corpus_ids, corpus_categories, k_max)
        cross_listed = neighbour_labels(test["id"], positions, corpus_ids, corpus_lists, k_max)
        modes[mode] = retrieval_report(labels, neighbours, ks, test["categories"].tolist(), cross_listed)
        if mode == "dense":
            dense_positions, dense_neighbours = positions, neighbours
        if mode == served_mode:
            served_neighbours = neighbours
    report.update(modes[served_mode])
    report["modes"] = modes
    raw = bundle.classifier.blended_proba(queries, texts)
    probs = bundle.classifier.predict_proba(queries, texts)
    classes = bundle.classifier.classes
    predicted = classes[np.argmax(probs, axis=1)]
    served = classification_report(labels, predicted)
    report.update({k: v for k, v in served.items() if k.startswith("accuracy")}, macro_f1=served["macro_f1"])
    report["ece"] = expected_calibration_error(probs, classes, labels)
    report["ece_uncalibrated"] = expected_calibration_error(raw, classes, labels)
    classifiers = {
        "embedding": bundle.classifier.embedding.predict(queries),
        "tfidf": classes[np.argmax(bundle.classifier.text_proba(texts), axis=1)],
        "knn_vote": knn_vote(dense_neighbours),
    }
    for name, guess in classifiers.items():
        scores = classification_report(labels, guess)
        report.update({f"{name}_{k}": v for k, v in scores.items() if k.startswith("accuracy")})
        report[f"{name}_macro_f1"] = scores["macro_f1"]
    report["embedding_weight"] = bundle.classifier.weight
    report["temperature"] = bundle.classifier.temperature
    report.update(
        queries=len(test),
        corpus=len(bundle.papers),
        dim=bundle.manifest["dim"],
        index_type=bundle.manifest["index_type"],
        onnx_variant=bundle.encoder.variant,
        versions=bundle.manifest["versions"],  # of the libraries that built the evaluated artifacts
        cpu=cpu_isa(),  # of this evaluation; floats, and so the metrics, move slightly from one CPU to another
    )
    if bundle.manifest["index_type"] != "flat":
        exact = exact_top_k(ADAPTED_CORPUS_DIR, queries, k_max)
        report[f"index_recall@{k_max}"] = round(recall_at_k(dense_positions, exact, k_max), 4)
    with stage_live(EVALUATE_LIVE_DIR) as live:
        for name in HEADLINE_METRICS:
            live.log_metric(name, report[name], plot=False)
        f1 = [{"category": c, "f1": v} for c, v in served["per_category_f1"].items()]
        live.log_plot("precision_at_k", precision_curve(labels, served_neighbours), x="k", y="precision")
        per_category = per_category_precision(labels, served_neighbours, k_max)
        live.log_plot("eval_per_category", per_category, x="p@10", y="category", template="bar_horizontal")
        live.log_plot("classifier_f1", f1, x="f1", y="category", template="bar_horizontal")
        live.log_plot(
            "reliability", reliability(probs, classes, labels), x="confidence", y="accuracy", template="scatter"
        )
        live.log_sklearn_plot("confusion_matrix", labels.tolist(), predicted.tolist(), name="confusion")
    return report


if __name__ == "__main__":
    run_stage("eval", main, Params)
