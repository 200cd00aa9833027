"""Stage finetune: contrastive fine-tuning of the base model on same-category pairs from the train split.

Runs as one process or as `torchrun --nproc_per_node=N -m stages.finetune` (dvc.yaml: `train.processes`);
every rank trains, rank 0 alone writes the encoder and metrics.
"""

import time
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.device import resolve_device
from arxiv_embed.layout import ENCODER_DIR, FINETUNE_LIVE_DIR, TOKENS_FILE, split_path
from arxiv_embed.live import stage_live
from arxiv_embed.stage import run_stage
from arxiv_embed.train.distributed import is_main_process, world_size
from arxiv_embed.train.models import ModelConfig, load_sentence_model
from arxiv_embed.train.tokens import TokenCache
from arxiv_embed.train.training import TrainConfig, finetune, make_pairs, save_model
from arxiv_embed.versions import library_versions


@dataclass(frozen=True)
class Params:
    train: TrainConfig
    model: ModelConfig


def main(params: Params) -> dict | None:
    cfg = params.train
    device = resolve_device(cfg.device, "train.device")
    model = load_sentence_model(params.model.name, device, params.model.max_seq_length)
    curve, rows, seconds = [], 0, 0.0
    if cfg.epochs > 0:
        tokens = TokenCache.load(TOKENS_FILE)
        pairs = make_pairs(
            pd.read_parquet(split_path("train"), columns=["primary_category"])["primary_category"].to_numpy(), cfg
        )
        rows = len(pairs)
        start = time.perf_counter()
        curve = finetune(model, pairs, tokens, cfg, device, FINETUNE_LIVE_DIR)
        seconds = time.perf_counter() - start
    if not is_main_process():
        return None
    if not curve:  # untrained: DVCLive's outs are there, empty
        stage_live(FINETUNE_LIVE_DIR).end()
        (FINETUNE_LIVE_DIR / "plots").mkdir(exist_ok=True)
    with atomic_path(ENCODER_DIR, is_dir=True) as tmp:
        save_model(model, tmp)
    texts_per_row = cfg.spec.texts_per_row
    return {
        "device": device,
        "world_size": world_size(),
        "loss_fn": cfg.loss,
        "rows": rows,
        "final_loss": round(curve[-1]["loss"], 4) if curve else None,
        "train_seconds": round(seconds, 2),
        "texts_per_second": round(rows * texts_per_row * cfg.epochs / seconds, 1) if seconds else None,
        "versions": library_versions(),  # the numerics depend on them as much as on dvc.lock's hashes
    }


if __name__ == "__main__":
    run_stage("train", main, Params)
