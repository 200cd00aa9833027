"""Stage adapter: a linear layer trained on the train split's stored vectors, applied to every stored vector.

The served graphs (`models/adapter/onnx/`) are the encoder's graphs with the layer appended, and
`models/adapter/sentence-transformers/` is the encoder with it as a `Dense` module; parity checks tie the three
(torch, each ONNX graph, the stored vectors) together. `adapter.epochs: 0` passes vectors and graphs through.
"""

import json
import shutil
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.shards import shard_files
from arxiv_embed.data.subsample import SPLITS
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.encode.onnx_encoder import CONFIG_FILE, MODEL_FILES, PARITY_FILE, OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig, append_adapter, cosines
from arxiv_embed.encode.vectors import load_vectors, save_vectors, table_vectors, vectors_table
from arxiv_embed.errors import PipelineError
from arxiv_embed.evaluation.metrics import relevance
from arxiv_embed.layout import (
    ADAPTED_CORPUS_DIR,
    ADAPTED_DIR,
    ADAPTER_DIR,
    CORPUS_VECTORS_DIR,
    ENCODER_DIR,
    METRICS_DIR,
    ONNX_DIR,
    embeddings_path,
    split_path,
)
from arxiv_embed.stage import run_stage
from arxiv_embed.train.adapter import ADAPTER_FILE, AdapterConfig, LinearAdapter, adapted_sentence_model, train_adapter
from arxiv_embed.train.models import load_trained_encoder

SERVED_ONNX, SENTENCE_MODEL = "onnx", "sentence-transformers"


@dataclass(frozen=True)
class Params:
    adapter: AdapterConfig
    onnx: OnnxConfig  # the parity bars every served graph passes
    text: TextConfig


def labelled(split: str) -> tuple[np.ndarray, np.ndarray]:
    ids, vectors = load_vectors(embeddings_path(split))
    return vectors, pd.read_parquet(split_path(split)).set_index("id").loc[ids, "primary_category"].to_numpy()


def neighbour_precision(queries, labels, corpus, corpus_labels, k: int = 10) -> float:
    """P@k of val papers searching the train papers: the adapter's effect, measured before the index exists."""
    top = np.argpartition(-(queries @ corpus.T), k - 1, axis=1)[:, :k]
    return round(float(relevance(labels, corpus_labels[top]).mean()), 4)


def check_parity(adapter: LinearAdapter, folder, texts: list[str], cfg: OnnxConfig) -> dict:
    """Each served graph in `folder` against the adapter applied to its encoder graph's output (what the stored
    vectors are), and the sentence-transformers copy against the fp32 graph; fails below `onnx.min_cosine`."""
    served = folder / SERVED_ONNX
    report = {}
    for variant in MODEL_FILES:
        stored = adapter.apply(OnnxEncoder(ONNX_DIR, variant).encode(texts))
        report[f"{variant}_vs_stored"] = cosines(stored, OnnxEncoder(served, variant).encode(texts))
    model = load_trained_encoder(folder / SENTENCE_MODEL, "cpu")
    reference = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    report["torch_vs_fp32"] = cosines(reference, OnnxEncoder(served, "fp32").encode(texts))
    report["int8_vs_fp32"] = cosines(
        OnnxEncoder(served, "fp32").encode(texts), OnnxEncoder(served, "int8").encode(texts)
    )
    for name in ("fp32_vs_stored", "int8_vs_stored", "torch_vs_fp32"):
        if report[name]["min_cosine"] < cfg.min_cosine:
            raise PipelineError(
                f"adapter parity failed: {name} min cosine {report[name]['min_cosine']:.6f} < onnx.min_cosine "
                f"{cfg.min_cosine} on {len(texts)} texts"
            )
    return {name: {k: round(v, 6) for k, v in found.items()} for name, found in report.items()}


def write_vectors(folder, adapter: LinearAdapter | None) -> None:
    """The corpus shards and the split files of data/embeddings, through the adapter (or as they are)."""
    (folder / ADAPTED_CORPUS_DIR.name).mkdir()
    for shard in shard_files(CORPUS_VECTORS_DIR):
        ids, vectors = table_vectors(pq.read_table(shard))
        vectors = adapter.apply(vectors) if adapter else vectors
        pq.write_table(vectors_table(ids, vectors), folder / ADAPTED_CORPUS_DIR.name / shard.name)
    for split in SPLITS:
        ids, vectors = load_vectors(embeddings_path(split))
        save_vectors(folder / f"{split}.npz", ids.tolist(), adapter.apply(vectors) if adapter else vectors)


def write_models(folder, adapter: LinearAdapter | None, texts: list[str], cfg: OnnxConfig) -> dict:
    """The served graphs and the sentence-transformers folder, with the adapter appended when there is one."""
    shutil.copytree(ONNX_DIR, folder / SERVED_ONNX)
    if adapter is None:
        shutil.copytree(ENCODER_DIR, folder / SENTENCE_MODEL)
    parity = {} if adapter is None else append_to_models(folder, adapter, texts, cfg)
    # export_onnx has held int8 to its bars against torch; after an adapter it must also stay close to fp32
    int8_ok = not parity or parity["int8_vs_fp32"]["mean_cosine"] >= cfg.int8_min_mean_cosine
    parity_path = folder / SERVED_ONNX / PARITY_FILE
    exported = json.loads(parity_path.read_text())
    parity_path.write_text(json.dumps({**exported, "int8_ok": int8_ok, "adapter": parity}, indent=2) + "\n")
    return parity


def append_to_models(folder, adapter: LinearAdapter, texts: list[str], cfg: OnnxConfig) -> dict:
    """The adapter appended to both served graphs and to a sentence-transformers copy, then checked."""
    adapter.save(folder / ADAPTER_FILE)
    for name in MODEL_FILES.values():
        append_adapter(ONNX_DIR / name, folder / SERVED_ONNX / name, adapter.weight, adapter.bias)
    config_path = folder / SERVED_ONNX / CONFIG_FILE
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "dim": adapter.dim, "adapter": True}, indent=2) + "\n")
    adapted_sentence_model(load_trained_encoder(ENCODER_DIR, "cpu"), adapter).save_pretrained(
        str(folder / SENTENCE_MODEL)
    )
    return check_parity(adapter, folder, texts, cfg)


def main(params: Params) -> dict:
    cfg = params.adapter
    (x_train, y_train), (x_val, y_val) = labelled("train"), labelled("val")
    adapter, curve, seconds = None, [], 0.0
    if cfg.epochs:
        start = time.perf_counter()
        adapter, curve = train_adapter(x_train, y_train, cfg)
        seconds = time.perf_counter() - start
    val = pd.read_parquet(split_path("val")).head(params.onnx.parity_texts)
    texts = build_texts(val["title"], val["abstract"], params.text.field)
    with atomic_path(ADAPTED_DIR, is_dir=True) as vectors_dir, atomic_path(ADAPTER_DIR, is_dir=True) as models_dir:
        write_vectors(vectors_dir, adapter)
        parity = write_models(models_dir, adapter, texts, params.onnx)
    with atomic_path(METRICS_DIR / "adapter_loss.csv") as tmp:
        pd.DataFrame(curve, columns=["epoch", "loss"]).to_csv(tmp, index=False)
    a_val, a_train = (adapter.apply(x_val), adapter.apply(x_train)) if adapter else (x_val, x_train)
    return {
        "epochs": cfg.epochs,
        "dim": adapter.dim if adapter else x_train.shape[1],
        "train_vectors": len(x_train),
        "train_seconds": round(seconds, 2),
        "final_loss": curve[-1]["loss"] if curve else None,
        "val_p@10_before": neighbour_precision(x_val, y_val, x_train, y_train),
        "val_p@10_after": neighbour_precision(a_val, y_val, a_train, y_train),
        "parity": parity,
    }


if __name__ == "__main__":
    run_stage("adapter", main, Params)
