"""A linear adapter learned on stored corpus vectors: the category signal of every labelled paper, in seconds.

Fine-tuning the encoder sees a few thousand pairs; the train split holds ~20k labelled vectors that the embed
stage has already computed. A `Dense` layer (identity-initialised, or a PCA projection for a smaller output) is
trained on them with the project's label-masked in-batch loss, then applied to every stored vector as one matrix
product: nothing is re-encoded. The same layer is appended to the served ONNX graphs and to a copy of the
sentence-transformers folder, so queries and the index go through the same layers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from pydantic import Field, PositiveFloat
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules import Dense, Normalize
from tqdm.auto import tqdm

from arxiv_embed.data.shards import shard_files
from arxiv_embed.data.vectors import load_vectors, save_vectors, table_vectors, vectors_table
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import Layout
from arxiv_embed.params import Count, params_section
from arxiv_embed.train.losses import LabelMaskedMNRLoss

log = logging.getLogger(__name__)

ADAPTER_FILE = "adapter.npz"  # weight (out, in) and bias (out,), float32


@params_section
class AdapterConfig:
    """The `adapter` section: the linear layer trained on the stored train-split vectors."""

    epochs: Annotated[int, Field(ge=0)]  # 0: no adapter; vectors and graphs pass through unchanged
    learning_rate: PositiveFloat
    batch_size: Count  # (anchor, positive) rows per step; same-category candidates are masked out
    dim: Count | None  # output dimension; None: the encoder's (a smaller one also shrinks the index)
    seed: int


@dataclass(frozen=True)
class LinearAdapter:
    """normalize(x @ weight.T + bias): what the served graph and the sentence-transformers folder append."""

    weight: np.ndarray
    bias: np.ndarray

    @property
    def dim(self) -> int:
        return self.weight.shape[0]

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        out = vectors @ self.weight.T + self.bias
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    def dense(self) -> Dense:
        """The layer as a sentence-transformers `Dense` module (identity activation)."""
        layer = Dense(self.weight.shape[1], self.dim, bias=True, activation_function=torch.nn.Identity())
        with torch.no_grad():
            layer.linear.weight.copy_(torch.from_numpy(self.weight))
            layer.linear.bias.copy_(torch.from_numpy(self.bias))
        return layer

    def save(self, path: Path) -> None:
        with open(path, "wb") as fh:
            np.savez(fh, weight=self.weight, bias=self.bias)


@dataclass(frozen=True)
class PassThrough:
    """No adapter (`adapter.epochs: 0`): the stored vectors and the exported graphs serve as they are."""

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        return vectors


NO_ADAPTER = PassThrough()
Adapter = LinearAdapter | PassThrough


def initial_weight(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Identity when the dimension is kept; otherwise the top `dim` principal directions (orthonormal rows)."""
    if dim == vectors.shape[1]:
        return np.eye(dim, dtype=np.float32)
    if dim > vectors.shape[1]:
        raise PipelineError(f"adapter.dim = {dim} is larger than the encoder's dimension {vectors.shape[1]}")
    _, _, vt = np.linalg.svd(vectors - vectors.mean(axis=0), full_matrices=False)
    return vt[:dim].astype(np.float32)


def epoch_pairs(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Every paper of a category with two or more papers anchors once, with a random other paper of its category."""
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], labels[order], side="left")
    sizes = np.searchsorted(labels[order], labels[order], side="right") - starts
    eligible = sizes > 1
    anchors = order[eligible]
    # an offset in 1..size-1 within the anchor's category block never lands on the anchor itself
    rank = np.arange(len(order))[eligible] - starts[eligible]
    offset = 1 + (rng.random(len(anchors)) * (sizes[eligible] - 1)).astype(int)
    positives = order[starts[eligible] + (rank + offset) % sizes[eligible]]
    shuffle = rng.permutation(len(anchors))
    return anchors[shuffle], positives[shuffle]


def train_adapter(vectors: np.ndarray, labels: np.ndarray, cfg: AdapterConfig) -> tuple[Adapter, list[dict]]:
    """Train the layer on (anchor, positive) pairs of train-split vectors; return it and its loss per epoch (none
    and no adapter for 0 epochs)."""
    if not cfg.epochs:
        return NO_ADAPTER, []
    dim = cfg.dim or vectors.shape[1]
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    start = LinearAdapter(initial_weight(vectors, dim), np.zeros(dim, np.float32))
    dense = start.dense()
    model = SentenceTransformer(modules=[dense, Normalize()], device="cpu")
    loss = LabelMaskedMNRLoss(model)
    optimizer = torch.optim.AdamW(dense.parameters(), lr=cfg.learning_rate)
    x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    codes = torch.from_numpy(np.unique(labels, return_inverse=True)[1])
    curve = []
    for epoch in tqdm(range(cfg.epochs), desc="adapter epochs"):
        anchors, positives = (torch.from_numpy(a) for a in epoch_pairs(labels, rng))
        total, steps = 0.0, 0
        for s in range(0, len(anchors) - 1, cfg.batch_size):
            a, p = anchors[s : s + cfg.batch_size], positives[s : s + cfg.batch_size]
            if len(a) < 2:
                continue
            embedded = [
                F.normalize(dense({"sentence_embedding": x[rows]})["sentence_embedding"], dim=-1) for rows in (a, p)
            ]
            value = loss.compute_loss_from_embeddings(embedded, codes[a])
            optimizer.zero_grad()
            value.backward()
            optimizer.step()
            total, steps = total + value.item(), steps + 1
        curve.append({"epoch": epoch + 1, "loss": round(total / max(steps, 1), 5)})
    weight = dense.linear.weight.detach().numpy().astype(np.float32)
    bias = dense.linear.bias.detach().numpy().astype(np.float32)
    return LinearAdapter(weight, bias), curve


def adapted_sentence_model(encoder: SentenceTransformer, adapter: LinearAdapter) -> SentenceTransformer:
    """The encoder's modules, then the adapter's Dense and a Normalize: the served model as sentence-transformers."""
    return SentenceTransformer(modules=[*encoder, adapter.dense(), Normalize()], device="cpu")


def adapt_stored_vectors(adapter: Adapter, layout: Layout, splits: Sequence[str], out: Path) -> None:
    """The corpus shards and split files of `layout.embeddings` through the adapter (or as they are), into `out`,
    which becomes `layout.adapted`: nothing is re-encoded."""
    (out / layout.adapted_corpus.name).mkdir()
    for shard in shard_files(layout.corpus_vectors):
        ids, vectors = table_vectors(pq.read_table(shard))
        vectors = adapter.apply(vectors)
        pq.write_table(vectors_table(ids, vectors), out / layout.adapted_corpus.name / shard.name)
    for split in splits:
        ids, vectors = load_vectors(layout.split_vectors(split))
        vectors = adapter.apply(vectors)
        save_vectors(out / layout.adapted_split(split).name, ids.tolist(), vectors)
