"""Stage finetune: contrastive fine-tuning of the base model on same-category pairs from the train split.

Runs as one process or as `torchrun --nproc_per_node=N -m stages.finetune` (dvc.yaml: `train.processes`);
every rank trains, rank 0 alone writes the encoder and metrics.
"""

from dataclasses import dataclass

from arxiv_embed.atomic import atomic_path
from arxiv_embed.device import resolve_device
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage
from arxiv_embed.train.distributed import is_main_process, world_size
from arxiv_embed.train.models import ModelConfig, load_sentence_model
from arxiv_embed.train.training import TrainConfig, save_model, train_on_split
from arxiv_embed.versions import library_versions


@dataclass(frozen=True)
class Params:
    train: TrainConfig
    model: ModelConfig


def main(params: Params) -> dict | None:
    cfg = params.train
    device = resolve_device(cfg.device, "train.device")
    model = load_sentence_model(params.model.name, device, params.model.max_seq_length)
    run = train_on_split(model, LAYOUT.split("train"), LAYOUT.tokens, cfg, device, LAYOUT.stage_dvclive("finetune"))
    if not is_main_process():
        return None
    with atomic_path(LAYOUT.models.encoder, is_dir=True) as tmp:
        save_model(model, tmp)
    return {
        "device": device,
        "world_size": world_size(),
        "loss_fn": cfg.loss,
        "rows": run.rows,
        "final_loss": round(run.curve[-1]["loss"], 4) if run.curve else None,
        "train_seconds": round(run.seconds, 2),
        "texts_per_second": round(run.rows * cfg.spec.texts_per_row * cfg.epochs / run.seconds, 1)
        if run.seconds
        else None,
        "versions": library_versions(),  # the numerics depend on them as much as on dvc.lock's hashes
    }


if __name__ == "__main__":
    run_stage("finetune", main, Params)
