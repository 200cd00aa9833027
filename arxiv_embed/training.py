"""Contrastive fine-tuning with sentence-transformers' trainer: positives share the primary category."""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
    losses,
)
from sentence_transformers.base.sampler import BatchSamplers, DefaultBatchSampler

from arxiv_embed.errors import PipelineError
from arxiv_embed.text import build_texts

log = logging.getLogger(__name__)

LOSSES = ("mnrl", "mnrl_distinct", "contrastive", "batch_hard_soft_margin")


@dataclass(frozen=True)
class TrainConfig:
    """The `train` section of params.yaml."""

    epochs: float
    loss: str
    batch_size: int
    learning_rate: float
    warmup_ratio: float
    max_pairs: int
    seed: int
    device: str
    wandb: str


def pick_device(requested: str) -> str:
    """'auto' means CUDA when present, else CPU."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


class DistinctLabelBatchSampler(DefaultBatchSampler):
    """Batches whose rows all have different `label`s, so in-batch negatives never share the anchor's category.

    sentence-transformers' NoDuplicatesBatchSampler compares texts only; same-category papers are not
    duplicates but are not negatives either, which is what this sampler prevents.
    """

    def __init__(self, dataset: Dataset, *args, **kwargs) -> None:
        super().__init__(dataset, *args, **kwargs)
        self.labels = np.asarray(dataset["label"])

    def _batches(self) -> list[list[int]]:
        """Each batch takes one row from each of `batch_size` categories drawn by how many rows they have left."""
        rng = np.random.default_rng(self.seed + self.epoch)
        queues = {c: list(rng.permutation(np.flatnonzero(self.labels == c))) for c in np.unique(self.labels)}
        batches = []
        while queues:
            names = list(queues)
            left = np.array([len(queues[c]) for c in names], dtype=float)
            size = min(self.batch_size, len(names))
            picked = rng.choice(len(names), size=size, replace=False, p=left / left.sum())
            batch = [int(queues[names[i]].pop()) for i in picked]
            if len(batch) > 1:  # a lone row has no in-batch negative to learn from
                batches.append(batch)
            queues = {c: q for c, q in queues.items() if q}
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        return batches

    def __iter__(self):
        yield from self._batches()

    def __len__(self) -> int:
        return len(self._batches())


def make_pairs(train: pd.DataFrame, text_field: str, cfg: TrainConfig) -> Dataset:
    """Build the training rows the chosen loss expects from the train split.

    Pair losses get `max_pairs` (anchor, positive) rows, the positive drawn from the anchor's primary category
    (contrastive: half of them get a cross-category partner and label 0); triplet losses get (text, label).
    """
    rng = np.random.default_rng(cfg.seed)
    texts = np.array(build_texts(train["title"], train["abstract"], text_field), dtype=object)
    categories = train["primary_category"].to_numpy()
    codes, label_ids = np.unique(categories, return_inverse=True)
    if cfg.loss == "batch_hard_soft_margin":
        order = rng.permutation(len(texts))[: cfg.max_pairs]
        return Dataset.from_dict({"text": list(texts[order]), "label": label_ids[order].tolist()})

    by_category = {c: np.flatnonzero(categories == c) for c in codes}
    eligible = [i for i in range(len(texts)) if len(by_category[categories[i]]) > 1]
    if not eligible:
        raise PipelineError("no category has two training papers; lower subsample.min_per_category or add data")
    # Every paper anchors once per round; more pairs than papers means more rounds with fresh positives.
    rounds = -(-cfg.max_pairs // len(eligible))
    anchors = np.concatenate([rng.permutation(eligible) for _ in range(rounds)])[: cfg.max_pairs].tolist()
    positives = []
    for i in anchors:
        same = by_category[categories[i]]
        j = i
        while j == i:
            j = int(rng.choice(same))
        positives.append(j)
    if cfg.loss == "contrastive":
        half = len(anchors) // 2
        negatives = [int(rng.choice(np.flatnonzero(categories != categories[i]))) for i in anchors[half:]]
        return Dataset.from_dict(
            {
                "sentence1": list(texts[anchors]),
                "sentence2": list(texts[positives[:half]]) + list(texts[negatives]),
                "label": [1.0] * half + [0.0] * (len(anchors) - half),
            }
        )
    rows = {"anchor": list(texts[anchors]), "positive": list(texts[positives])}
    if cfg.loss == "mnrl_distinct":
        rows["label"] = label_ids[anchors].tolist()
    return Dataset.from_dict(rows)


def _loss_and_sampler(model: SentenceTransformer, loss: str):
    if loss == "mnrl":
        return losses.MultipleNegativesRankingLoss(model), BatchSamplers.NO_DUPLICATES
    if loss == "mnrl_distinct":
        return losses.MultipleNegativesRankingLoss(model), DistinctLabelBatchSampler
    if loss == "contrastive":
        return losses.ContrastiveLoss(model), BatchSamplers.BATCH_SAMPLER
    if loss == "batch_hard_soft_margin":
        return losses.BatchHardSoftMarginTripletLoss(model), BatchSamplers.GROUP_BY_LABEL
    raise PipelineError(f"unknown train.loss {loss!r}; expected one of {', '.join(LOSSES)}")


def finetune(model: SentenceTransformer, pairs: Dataset, cfg: TrainConfig, device: str) -> list[dict]:
    """Train `model` in place; return the logged loss curve as [{'step', 'epoch', 'loss'}]."""
    loss, sampler = _loss_and_sampler(model, cfg.loss)
    os.environ["WANDB_MODE"] = cfg.wandb if cfg.wandb != "off" else "disabled"
    os.environ.setdefault("WANDB_PROJECT", "arxiv-embed")
    steps = max(1, int(len(pairs) / cfg.batch_size * cfg.epochs))
    with tempfile.TemporaryDirectory(prefix="finetune-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=cfg.epochs,
            per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate,
            warmup_steps=int(cfg.warmup_ratio * steps),
            seed=cfg.seed,
            data_seed=cfg.seed,
            batch_sampler=sampler,
            logging_steps=max(1, steps // 50),
            save_strategy="no",
            report_to=["wandb"] if cfg.wandb != "off" else "none",
            run_name=f"finetune-{cfg.loss}",
            use_cpu=device == "cpu",
            bf16=device == "cuda" and torch.cuda.is_bf16_supported(),
            dataloader_drop_last=False,
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs, loss=loss)
        trainer.train()
    return [
        {"step": e["step"], "epoch": round(e.get("epoch", 0.0), 4), "loss": e["loss"]}
        for e in trainer.state.log_history
        if "loss" in e
    ]


def save_model(model: SentenceTransformer, path: Path) -> None:
    """Save a sentence-transformers folder (weights, tokenizer, pooling, max_seq_length)."""
    model.save_pretrained(str(path))
