"""Stage fit_classifier: logistic regression on embeddings and on TF-IDF, blended by validation accuracy.

Both models learn from the train split; the blend weight (of the embedding model) is the one with the best
accuracy on the val split; test accuracy is reported for each model alone and for the served blend.
"""

import numpy as np
import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.classify.classifier import BLEND_WEIGHTS, HybridClassifier, LinearClassifier
from arxiv_embed.classify.tfidf import TfidfFeatures, make_vectorizer
from arxiv_embed.data.text import build_texts
from arxiv_embed.encode.vectors import load_vectors
from arxiv_embed.evaluation.metrics import classification_report
from arxiv_embed.layout import METRICS_DIR, MODELS_DIR, embeddings_path, split_path
from arxiv_embed.stage import run_stage


def labelled(split: str, field: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Embeddings, texts and primary categories of a split, aligned by id."""
    ids, vectors = load_vectors(embeddings_path(split))
    papers = pd.read_parquet(split_path(split)).set_index("id").loc[ids]
    return vectors, build_texts(papers["title"], papers["abstract"], field), papers["primary_category"].to_numpy()


def accuracy(y: np.ndarray, classes: np.ndarray, probs: np.ndarray) -> float:
    return float((classes[np.argmax(probs, axis=1)] == y).mean())


def main(params: dict) -> dict:
    cfg, tfidf_cfg, field = params["classifier"], params["baseline"], params["text"]["field"]
    (x_train, t_train, y_train), (x_val, t_val, y_val), (x_test, t_test, y_test) = (
        labelled(s, field) for s in ("train", "val", "test")
    )
    embedding = LinearClassifier.fit(x_train, y_train, c=cfg["C"], max_iter=cfg["max_iter"], seed=cfg["seed"])
    vectorizer = make_vectorizer(tfidf_cfg["max_features"], tfidf_cfg["max_ngram"])
    text = LinearClassifier.fit(
        vectorizer.fit_transform(t_train), y_train, c=tfidf_cfg["C"], max_iter=tfidf_cfg["max_iter"], seed=cfg["seed"]
    )
    hybrid = HybridClassifier(embedding, text, TfidfFeatures.from_vectorizer(vectorizer), weight=1.0)
    val_probs = embedding.predict_proba(x_val), hybrid.text_proba(t_val)
    val_accuracy = {w: accuracy(y_val, hybrid.classes, HybridClassifier.blend(*val_probs, w)) for w in BLEND_WEIGHTS}
    hybrid.weight = max(BLEND_WEIGHTS, key=lambda w: (val_accuracy[w], w))  # ties: more embedding
    with atomic_path(MODELS_DIR / "classifier", is_dir=True) as tmp:
        hybrid.save(tmp, val_accuracy={str(w): round(a, 4) for w, a in val_accuracy.items()})

    test_probs = embedding.predict_proba(x_test), hybrid.text_proba(t_test)
    predicted = hybrid.classes[np.argmax(HybridClassifier.blend(*test_probs, hybrid.weight), axis=1)]
    report = classification_report(y_test, predicted)
    with atomic_path(METRICS_DIR / "confusion.csv") as tmp:
        pd.DataFrame({"actual": y_test, "predicted": predicted}).to_csv(tmp, index=False)
    with atomic_path(METRICS_DIR / "classifier_f1.csv") as tmp:
        pd.DataFrame(report.pop("per_category_f1").items(), columns=["category", "f1"]).to_csv(tmp, index=False)
    with atomic_path(METRICS_DIR / "classifier_blend.csv") as tmp:
        pd.DataFrame(val_accuracy.items(), columns=["embedding_weight", "val_accuracy"]).to_csv(tmp, index=False)
    return {
        **report,
        "embedding_weight": hybrid.weight,
        "embedding_accuracy": round(accuracy(y_test, hybrid.classes, test_probs[0]), 4),
        "tfidf_accuracy": round(accuracy(y_test, hybrid.classes, test_probs[1]), 4),
        "classes": len(hybrid.classes),
        "tfidf_features": hybrid.features.size,
    }


if __name__ == "__main__":
    run_stage("classifier", main)
