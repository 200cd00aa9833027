"""Contrastive fine-tuning with sentence-transformers' trainer: positives share the primary category.

Rows are paper indices into the token cache (the tokenize stage), so the trainer gathers token ids instead of
tokenizing strings; the samplers group rows by length; under torchrun every rank trains on its slice of the same
global batch, with embeddings gathered across ranks for the in-batch losses.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.base.sampler import BatchSamplers
from sentence_transformers.sentence_transformer import losses

from arxiv_embed.errors import ParamError, PipelineError
from arxiv_embed.train.batching import DistinctLabelBatchSampler, LengthGroupedBatchSampler, column_array
from arxiv_embed.train.distributed import is_main_process, world_size
from arxiv_embed.train.losses import LabelMaskedMNRLoss, PrototypeLoss
from arxiv_embed.train.tokens import TokenCache, TokenCollator

log = logging.getLogger(__name__)

LOSSES = ("mnrl", "mnrl_distinct", "mnrl_masked", "cached_mnrl", "prototype", "contrastive", "batch_hard_soft_margin")
PAIR_COLUMNS = ("anchor", "positive")


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
    processes: int  # torchrun processes per node: one per GPU, or CPU processes on gloo
    dataloader_workers: int
    compile: bool
    mini_batch_size: int  # cached_mnrl: rows per GradCache chunk
    prototype_weight: float  # prototype: weight of the prototype term


def pick_device(requested: str) -> str:
    """'auto' means CUDA when present, else CPU."""
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def make_pairs(categories: np.ndarray, cfg: TrainConfig) -> Dataset:
    """Build the training rows the chosen loss expects, as indices into the train split (and its token cache).

    Pair losses get `max_pairs` (anchor, positive, label) rows, the positive drawn from the anchor's primary
    category (contrastive: half of them get a cross-category partner and label 0); triplet losses get (text, label).
    """
    rng = np.random.default_rng(cfg.seed)
    codes, label_ids = np.unique(categories, return_inverse=True)
    if cfg.loss == "batch_hard_soft_margin":
        order = rng.permutation(len(categories))[: cfg.max_pairs]
        return Dataset.from_dict({"text": order.tolist(), "label": label_ids[order].tolist()})

    by_category = {c: np.flatnonzero(categories == c) for c in codes}
    eligible = [i for i in range(len(categories)) if len(by_category[categories[i]]) > 1]
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
                "sentence1": anchors,
                "sentence2": positives[:half] + negatives,
                "label": [1.0] * half + [0.0] * (len(anchors) - half),
            }
        )
    return Dataset.from_dict({"anchor": anchors, "positive": positives, "label": label_ids[anchors].tolist()})


def _text_columns(pairs: Dataset) -> tuple[str, ...]:
    return tuple(c for c in pairs.column_names if c != "label")


def row_lengths(pairs: Dataset, tokens: TokenCache) -> np.ndarray:
    """Tokens a row costs: the sum over its text columns, the key the samplers group batches by."""
    return sum(tokens.lengths[column_array(pairs, c)] for c in _text_columns(pairs))


def batch_sampler(loss: str, pairs: Dataset, tokens: TokenCache, world: int):
    """What the trainer builds batches with: one of the library's samplers, or a factory for ours."""
    library = {
        "mnrl": BatchSamplers.NO_DUPLICATES,
        "contrastive": BatchSamplers.BATCH_SAMPLER,
        "batch_hard_soft_margin": BatchSamplers.GROUP_BY_LABEL,
    }
    if loss in library:
        return library[loss]
    ours = DistinctLabelBatchSampler if loss == "mnrl_distinct" else LengthGroupedBatchSampler
    return partial(ours, lengths=row_lengths(pairs, tokens), world_size=world)


def make_loss(model: SentenceTransformer, pairs: Dataset, cfg: TrainConfig, world: int) -> torch.nn.Module:
    """The library loss, or our label-aware one; in-batch losses gather candidates across ranks."""
    gather = world > 1
    if cfg.loss == "mnrl":
        return losses.MultipleNegativesRankingLoss(model)
    if cfg.loss == "mnrl_distinct":
        return losses.MultipleNegativesRankingLoss(model, gather_across_devices=gather)
    if cfg.loss == "mnrl_masked":
        return LabelMaskedMNRLoss(model, gather_across_devices=gather)
    if cfg.loss == "cached_mnrl":
        return losses.CachedMultipleNegativesRankingLoss(
            model, mini_batch_size=cfg.mini_batch_size, gather_across_devices=gather
        )
    if cfg.loss == "prototype":
        if gather:
            raise ParamError("train.loss=prototype trains its prototypes on one process; set train.processes=1")
        return PrototypeLoss(
            LabelMaskedMNRLoss(model), int(column_array(pairs, "label").max()) + 1, cfg.prototype_weight
        )
    if cfg.loss == "contrastive":
        return losses.ContrastiveLoss(model)
    if cfg.loss == "batch_hard_soft_margin":
        return losses.BatchHardSoftMarginTripletLoss(model)
    raise ParamError(f"unknown train.loss {cfg.loss!r}; expected one of {', '.join(LOSSES)}")


def finetune(
    model: SentenceTransformer, pairs: Dataset, tokens: TokenCache, cfg: TrainConfig, device: str
) -> list[dict]:
    """Train `model` in place; return the logged loss curve as [{'step', 'epoch', 'loss'}].

    `train.batch_size` is the global batch: the samplers split it across torchrun ranks.
    """
    loss = make_loss(model, pairs, cfg, world_size())
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
            batch_sampler=batch_sampler(cfg.loss, pairs, tokens, world_size()),
            logging_steps=max(1, steps // 50),
            save_strategy="no",
            report_to=["wandb"] if cfg.wandb != "off" else "none",
            run_name=f"finetune-{cfg.loss}",
            use_cpu=device == "cpu",
            bf16=device == "cuda" and torch.cuda.is_bf16_supported(),
            dataloader_drop_last=False,
            dataloader_num_workers=cfg.dataloader_workers,
            dataloader_pin_memory=device == "cuda",
            torch_compile=cfg.compile,
            ddp_backend=("nccl" if device == "cuda" else "gloo") if world_size() > 1 else None,
            disable_tqdm=not is_main_process(),
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=args,
            train_dataset=pairs,
            loss=loss,
            data_collator=TokenCollator(tokens, _text_columns(pairs)),
        )
        trainer.train()
    return [
        {"step": e["step"], "epoch": round(e.get("epoch", 0.0), 4), "loss": e["loss"]}
        for e in trainer.state.log_history
        if "loss" in e
    ]


def save_model(model: SentenceTransformer, path: Path) -> None:
    """Save a sentence-transformers folder (weights, tokenizer, pooling, max_seq_length)."""
    model.save_pretrained(str(path))
