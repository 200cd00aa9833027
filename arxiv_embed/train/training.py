"""Contrastive fine-tuning with sentence-transformers' trainer: positives share the primary category.

Rows are paper indices into the token cache (the tokenize stage), so the trainer gathers token ids instead of
tokenizing strings; the samplers group rows by length; under torchrun every rank trains on its slice of the same
global batch, with embeddings gathered across ranks for the in-batch losses.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from transformers.integrations import DVCLiveCallback

from arxiv_embed.errors import ParamError, PipelineError
from arxiv_embed.params import Count, params_section, registry_key
from arxiv_embed.tracking import dvclive_logger
from arxiv_embed.train.batching import column_array
from arxiv_embed.train.distributed import is_main_process, world_size
from arxiv_embed.train.registry import LOSSES, LossSpec
from arxiv_embed.train.tokens import TokenCache, TokenCollator

log = logging.getLogger(__name__)


@params_section
class TrainConfig:
    """The `train` section of params.yaml."""

    epochs: NonNegativeFloat  # 0: the base model passes through untrained
    loss: Annotated[str, registry_key(LOSSES)]
    batch_size: Count  # the global batch: under torchrun every process trains on batch_size / processes rows
    learning_rate: PositiveFloat
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)]
    max_pairs: Count
    seed: int
    device: Literal["auto", "cpu", "cuda"]
    wandb: Literal["offline", "online", "off"]
    processes: Count  # torchrun processes per node: one per GPU, or CPU processes on gloo
    dataloader_workers: NonNegativeInt
    compile: bool
    mini_batch_size: Count  # cached_mnrl: rows per GradCache chunk
    prototype_weight: NonNegativeFloat  # prototype: weight of the prototype term

    @property
    def spec(self) -> LossSpec:
        return LOSSES[self.loss]


def make_pairs(categories: np.ndarray, cfg: TrainConfig) -> Dataset:
    """Build the training rows the chosen loss expects, as indices into the train split (and its token cache).

    Pair losses get `max_pairs` (anchor, positive, label) rows, the positive drawn from the anchor's primary
    category (contrastive: half of them get a cross-category partner and label 0); triplet losses get (text, label).
    """
    rng = np.random.default_rng(cfg.seed)
    codes, label_ids = np.unique(categories, return_inverse=True)
    if cfg.spec.rows == "labelled_texts":
        order = rng.permutation(len(categories))[: cfg.max_pairs]
        return Dataset.from_dict({"text": order.tolist(), "label": label_ids[order].tolist()})

    by_category = {c: np.flatnonzero(categories == c) for c in codes}
    eligible = [i for i in range(len(categories)) if len(by_category[categories[i]]) > 1]
    if not eligible:
        raise PipelineError(
            "no category has two training papers; lower subsample.min_papers_to_keep_category or add data"
        )
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
    if cfg.spec.rows == "scored_pairs":
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


def batch_sampler(spec: LossSpec, pairs: Dataset, tokens: TokenCache, world: int):
    """What the trainer builds batches with: one of the library's samplers, or a factory for ours."""
    if spec.plans_global_batches:
        return partial(spec.sampler, lengths=row_lengths(pairs, tokens), world_size=world)
    return spec.sampler


def per_process_batch(spec: LossSpec, batch_size: int, world: int) -> int:
    """Rows one process takes a step, so that every loss trains on `train.batch_size` rows a step in all.

    Our samplers plan global batches and cut them into `world` slices themselves; the library's samplers are
    handed each rank's share, and accelerate gives rank r every world-th of those batches.
    """
    if spec.plans_global_batches:
        return batch_size
    if batch_size % world:
        raise ParamError(f"train.batch_size={batch_size} must be a multiple of train.processes={world}")
    return batch_size // world


def make_loss(model: SentenceTransformer, pairs: Dataset, cfg: TrainConfig, world: int) -> torch.nn.Module:
    """The registered loss; in-batch losses gather candidates across ranks."""
    if world > 1 and not cfg.spec.multi_process:
        raise ParamError(f"train.loss={cfg.loss} trains its state on one process; set train.processes=1")
    return cfg.spec.build(model, int(column_array(pairs, "label").max()) + 1, world > 1, cfg)


def live_callbacks(live_dir: Path | None) -> list[DVCLiveCallback]:
    """DVCLive's trainer callback on rank 0: loss, learning rate and gradient norm at every step, in `live_dir`."""
    if live_dir is None or not is_main_process():
        return []
    return [DVCLiveCallback(live=dvclive_logger(live_dir))]


def finetune(
    model: SentenceTransformer,
    pairs: Dataset,
    tokens: TokenCache,
    cfg: TrainConfig,
    device: str,
    live_dir: Path | None = None,
) -> list[dict]:
    """Train `model` in place, logging each step to DVCLive in `live_dir` (None: not at all) and to W&B unless
    `train.wandb` is off; return the loss curve as [{'step', 'epoch', 'loss'}].

    `train.batch_size` is the global batch, whatever the loss and the number of torchrun ranks.
    """
    loss = make_loss(model, pairs, cfg, world_size())
    os.environ["WANDB_MODE"] = cfg.wandb if cfg.wandb != "off" else "disabled"
    os.environ.setdefault("WANDB_PROJECT", "arxiv-embed")
    steps = max(1, int(len(pairs) / cfg.batch_size * cfg.epochs))
    with tempfile.TemporaryDirectory(prefix="finetune-") as scratch:
        args = SentenceTransformerTrainingArguments(
            output_dir=scratch,
            num_train_epochs=cfg.epochs,
            per_device_train_batch_size=per_process_batch(cfg.spec, cfg.batch_size, world_size()),
            learning_rate=cfg.learning_rate,
            warmup_steps=int(cfg.warmup_ratio * steps),
            seed=cfg.seed,
            data_seed=cfg.seed,
            batch_sampler=batch_sampler(cfg.spec, pairs, tokens, world_size()),
            logging_steps=1,
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
            callbacks=live_callbacks(live_dir),
        )
        trainer.train()
    # The trainer's arguments (its scratch folder among them) are not the stage's params. Only rank 0 logs to DVCLive,
    # and only it removes them: another rank that finishes first would pull the file from under its last log.
    if live_dir is not None and is_main_process():
        (live_dir / "params.yaml").unlink(missing_ok=True)
    return [
        {"step": e["step"], "epoch": round(e.get("epoch", 0.0), 4), "loss": e["loss"]}
        for e in trainer.state.log_history
        if "loss" in e
    ]


def save_model(model: SentenceTransformer, path: Path) -> None:
    """Save a sentence-transformers folder (weights, tokenizer, pooling, max_seq_length)."""
    model.save_pretrained(str(path))


@dataclass(frozen=True)
class TrainingRun:
    curve: list[dict]  # [{'step', 'epoch', 'loss'}]; empty when untrained
    rows: int  # training pairs
    seconds: float


def train_on_split(
    model: SentenceTransformer, split: Path, tokens_file: Path, cfg: TrainConfig, device: str, live_dir: Path
) -> TrainingRun:
    """Fine-tune `model` in place on pairs drawn from the train split; `train.epochs` 0 leaves it as it is, with
    DVCLive's folder (a stage out) there and empty."""
    curve, rows, seconds = [], 0, 0.0
    if cfg.epochs > 0:
        tokens = TokenCache.load(tokens_file)
        pairs = make_pairs(pd.read_parquet(split, columns=["primary_category"])["primary_category"].to_numpy(), cfg)
        rows, start = len(pairs), time.perf_counter()
        curve = finetune(model, pairs, tokens, cfg, device, live_dir)
        seconds = time.perf_counter() - start
    if not curve and is_main_process():
        dvclive_logger(live_dir).end()
        (live_dir / "plots").mkdir(exist_ok=True)
    return TrainingRun(curve, rows, seconds)
