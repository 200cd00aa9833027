"""Stage fit_classifier: logistic regression on train embeddings, scored on test embeddings."""

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classifier import CLASSIFIER_FILE, LinearClassifier
from arxiv_embed.layout import METRICS_DIR, MODELS_DIR, embeddings_path, split_path
from arxiv_embed.metrics import classification_report
from arxiv_embed.stage import run_stage
from arxiv_embed.vectors import load_vectors


def labelled(split: str):
    """Embeddings of a split with their primary categories, aligned by id."""
    ids, vectors = load_vectors(embeddings_path(split))
    labels = pd.read_parquet(split_path(split)).set_index("id").loc[ids, "primary_category"].to_numpy()
    return vectors, labels


def main(params: dict) -> dict:
    cfg = params["classifier"]
    x_train, y_train = labelled("train")
    x_test, y_test = labelled("test")
    clf = LinearClassifier.fit(x_train, y_train, c=cfg["C"], max_iter=cfg["max_iter"], seed=cfg["seed"])
    with atomic_path(MODELS_DIR / "classifier", is_dir=True) as tmp:
        clf.save(tmp / CLASSIFIER_FILE)
    predicted = clf.predict(x_test)
    report = classification_report(y_test, predicted)
    with atomic_path(METRICS_DIR / "confusion.csv") as tmp:
        pd.DataFrame({"actual": y_test, "predicted": predicted}).to_csv(tmp, index=False)
    with atomic_path(METRICS_DIR / "classifier_f1.csv") as tmp:
        pd.DataFrame(report.pop("per_category_f1").items(), columns=["category", "f1"]).to_csv(tmp, index=False)
    return {**report, "classes": len(clf.classes)}


if __name__ == "__main__":
    run_stage("classifier", main)
