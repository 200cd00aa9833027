"""Stage evaluate: retrieval and classification quality of the served bundle, on the served path.

Test papers are the queries, encoded as the server encodes them (graph and runtime); they search the served corpus
in every mode, each query paper itself excluded (`arxiv_embed.evaluation.served_quality`). The top-level P@k are
the served mode's. Every number goes to metrics/evaluate.json, the headline ones and the plots through DVCLive."""

from dataclasses import dataclass

import pandas as pd

from arxiv_embed.bundle import load_bundle
from arxiv_embed.data.text import build_texts
from arxiv_embed.evaluation.dvclive_report import log_evaluation
from arxiv_embed.evaluation.served_quality import Queries, classifier_quality, search_quality
from arxiv_embed.layout import LAYOUT
from arxiv_embed.machine import cpu_isa
from arxiv_embed.metrics import EvaluateConfig, recall_at_k
from arxiv_embed.search.index import exact_top_k
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    evaluate: EvaluateConfig


def main(params: Params) -> dict:
    ks, k_max = params.evaluate.ks, max(params.evaluate.ks)
    bundle = load_bundle(LAYOUT.models.root)
    test = pd.read_parquet(LAYOUT.split("test"))
    texts = build_texts(test["title"], test["abstract"], bundle.manifest.text_field)
    labels = test["primary_category"].to_numpy()
    queries = Queries(
        test["id"], texts, bundle.encoder.encode(texts, progress=True), labels, test["categories"].tolist()
    )
    modes = search_quality(bundle, queries, ks, LAYOUT.corpus)
    served_mode = bundle.searcher.default_mode
    classifier = classifier_quality(bundle, queries, modes["dense"].neighbours)
    report: dict = {"search_mode": served_mode, "bundle_version": bundle.manifest.version}
    report.update(modes[served_mode].report, modes={mode: result.report for mode, result in modes.items()})
    report.update(classifier.report)
    report.update(
        queries=len(test),
        corpus=len(bundle.papers),
        dim=bundle.manifest.dim,
        index_type=bundle.manifest.index_type,
        onnx_variant=bundle.encoder.variant,
        encoder_runtime=bundle.encoder.runtime,
        versions=bundle.manifest.versions,  # of the libraries that built the evaluated artifacts
        cpu=cpu_isa(),  # of this evaluation; floats, and so the metrics, move slightly from one CPU to another
    )
    if bundle.manifest.index_type != "flat":
        exact = exact_top_k(LAYOUT.adapted_corpus, queries.vectors, k_max)
        report[f"index_recall@{k_max}"] = round(recall_at_k(modes["dense"].positions, exact, k_max), 4)
    log_evaluation(LAYOUT.stage_dvclive("evaluate"), report, labels, modes[served_mode].neighbours, classifier)
    return report


if __name__ == "__main__":
    run_stage("evaluate", main, Params)
