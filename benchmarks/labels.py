"""What more embedded labels would buy: the adapter's and the embedding classifier's learning curves.

    python -m benchmarks.labels [--repo .] [--tiny]

The TF-IDF model reads its labels from the pool for free, and the results page measures it at several pool sizes.
The adapter and the embedding classifier can only learn from embedded papers, and embedding costs time. So this
benchmark trains both on a quarter, a half and all of the run's embedded train split (the adapter's val P@10 over
all of train, as the adapter stage measures it; the classifier's val accuracy on the served vectors), with the
run's own settings, and sets the gain of the last doubling beside what embedding that many more papers of the
pool would cost at the embed stage's measured rate. `--tiny` takes halves only (a test that it runs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from arxiv_embed.classify.classifier import ClassifierConfig
from arxiv_embed.data.split_vectors import split_vectors
from arxiv_embed.layout import LAYOUT, Layout
from arxiv_embed.metrics import nearest_labels, validation_precision
from arxiv_embed.params import load_params, section
from arxiv_embed.train.adapter import AdapterConfig, train_adapter
from benchmarks.common import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(), help="the checkout whose run to read")
    parser.add_argument("--tiny", action="store_true", help="halves only (a test that it runs)")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    layout = Layout(opts.repo)
    params = load_params(opts.repo / "params.yaml")
    adapter_cfg = section(params, "adapter", AdapterConfig)
    classifier_cfg = section(params, "classifier", ClassifierConfig)
    train, val = (split_vectors(layout.split_vectors(s), layout.split(s)) for s in ("train", "val"))
    served_train, served_val = (split_vectors(layout.adapted_split(s), layout.split(s)) for s in ("train", "val"))
    order = np.random.default_rng(0).permutation(len(train.labels))
    curve = []
    for share in (0.5, 1.0) if opts.tiny else (0.25, 0.5, 1.0):
        rows = order[: int(share * len(order))]
        adapter, _ = train_adapter(train.vectors[rows], train.labels[rows], adapter_cfg)
        adapted = adapter.apply(val.vectors), adapter.apply(train.vectors)
        classifier = classifier_cfg.estimator().fit(served_train.vectors[rows], served_train.labels[rows])
        guessed = classifier.predict(served_val.vectors)
        curve.append(
            {
                "train_vectors": len(rows),
                "adapter_val_p@10": validation_precision(val.labels, nearest_labels(*adapted, train.labels)),
                "embedding_val_accuracy": round(float((guessed == served_val.labels).mean()), 4),
            }
        )
    embed = json.loads(layout.stage_metrics("embed").read_text())
    half, whole = curve[-2], curve[-1]
    report(
        "labels",
        {
            "curve": curve,
            "last_doubling": {
                "adapter_val_p@10": round(whole["adapter_val_p@10"] - half["adapter_val_p@10"], 4),
                "embedding_val_accuracy": round(whole["embedding_val_accuracy"] - half["embedding_val_accuracy"], 4),
            },
            "embed_papers_per_second": embed["papers_per_second"],
            "seconds_to_embed_as_many_again": round(whole["train_vectors"] / embed["papers_per_second"], 1),
            "val_papers": len(val.labels),
        },
        opts.out,
    )


if __name__ == "__main__":
    main()
