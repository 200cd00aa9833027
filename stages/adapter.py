"""Stage adapter: a linear layer trained on the train split's stored vectors, applied to every stored vector.

Writes the adapted vectors (data/adapted), the served graphs and the sentence-transformers copy with the layer
appended (models/adapter), parity-checked against each other. `adapter.epochs: 0` passes everything through.
"""

import time
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.split_vectors import split_vectors
from arxiv_embed.data.subsample import SPLITS
from arxiv_embed.data.text import TextConfig
from arxiv_embed.encode.onnx_export import OnnxConfig
from arxiv_embed.encode.parity import parity_sample
from arxiv_embed.encode.served_graphs import write_served_models
from arxiv_embed.layout import LAYOUT, AdapterFolder
from arxiv_embed.metrics import nearest_labels, validation_precision
from arxiv_embed.stage import run_stage
from arxiv_embed.train.adapter import AdapterConfig, adapt_stored_vectors, train_adapter


@dataclass(frozen=True)
class Params:
    adapter: AdapterConfig
    onnx: OnnxConfig  # the parity bars every served graph passes
    text: TextConfig


def main(params: Params) -> dict:
    train, val = (split_vectors(LAYOUT.split_vectors(s), LAYOUT.split(s)) for s in ("train", "val"))
    start = time.perf_counter()
    adapter, curve = train_adapter(train.vectors, train.labels, params.adapter)
    seconds = time.perf_counter() - start
    texts, _ = parity_sample(LAYOUT.split("val"), params.onnx.parity_texts, params.text.field)
    exported, encoder = LAYOUT.models.exported_onnx, LAYOUT.models.encoder
    with atomic_path(LAYOUT.adapted, is_dir=True) as vectors, atomic_path(LAYOUT.models.adapter.root, True) as out:
        adapt_stored_vectors(adapter, LAYOUT, SPLITS, vectors)
        parity = write_served_models(AdapterFolder(out), adapter, exported, encoder, texts, params.onnx)
    with atomic_path(LAYOUT.plot("adapter_loss")) as tmp:
        pd.DataFrame(curve, columns=["epoch", "loss"]).to_csv(tmp, index=False)
    after = [adapter.apply(s.vectors) for s in (val, train)]
    return {
        "epochs": params.adapter.epochs,
        "dim": after[1].shape[1],
        "train_vectors": len(train.vectors),
        "train_seconds": round(seconds, 2),
        "final_loss": curve[-1]["loss"] if curve else None,
        "val_p@10_before": validation_precision(val.labels, nearest_labels(val.vectors, train.vectors, train.labels)),
        "val_p@10_after": validation_precision(val.labels, nearest_labels(*after, train.labels)),
        "parity": parity,
    }


if __name__ == "__main__":
    run_stage("adapter", main, Params)
