"""The evaluate stage's DVCLive record: the headline metrics (`dvc exp show`) and the plots (`dvc plots`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arxiv_embed.evaluation.served_quality import ClassifierQuality
from arxiv_embed.metrics import HEADLINE_METRICS, per_category_precision, precision_curve, reliability
from arxiv_embed.tracking import dvclive_logger


def log_evaluation(
    folder: Path, report: dict, labels: np.ndarray, neighbours: np.ndarray, classifier: ClassifierQuality
) -> None:
    """The evaluate stage's headline metrics and plots: P@k curve, per-category P@10 and F1 of the served mode and
    classifier, the reliability diagram and the confusion matrix."""
    with dvclive_logger(folder) as live:
        for name in HEADLINE_METRICS:
            live.log_metric(name, report[name], plot=False)
        f1 = [{"category": c, "f1": v} for c, v in classifier.per_category_f1.items()]
        live.log_plot("precision_at_k", precision_curve(labels, neighbours), x="k", y="precision")
        per_category = per_category_precision(labels, neighbours, neighbours.shape[1])
        live.log_plot("eval_per_category", per_category, x="p@10", y="category", template="bar_horizontal")
        live.log_plot("classifier_f1", f1, x="f1", y="category", template="bar_horizontal")
        points = reliability(classifier.probs, classifier.classes, labels)
        live.log_plot("reliability", points, x="confidence", y="accuracy", template="scatter")
        live.log_sklearn_plot("confusion_matrix", labels.tolist(), classifier.predicted.tolist(), name="confusion")
