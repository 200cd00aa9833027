"""torchrun: two CPU processes on gloo train on the same global batches as one process, and rank 0 alone writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, committed_params, run

# Identical global batches, gathered embeddings and no dropout leave float reduction order as the only difference.
LOSS_TOLERANCE = 1e-4  # measured: 6e-7
LOSS_CURVE = "dvclive/finetune/plots/metrics/loss.tsv"  # DVCLive's, a row a step, written by rank 0 alone
TRAIN = {"loss": "mnrl_masked", "batch_size": 8, "max_pairs": 64, "learning_rate": 1e-4, "wandb": "off", "epochs": 1}


def model_without_dropout(dest: Path) -> Path:
    """The base model with dropout off, so that two runs differ only in how they are distributed."""
    from arxiv_embed.train.models import resolve_model

    shutil.copytree(resolve_model("sentence-transformers/all-MiniLM-L6-v2"), dest)
    config = json.loads((dest / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (dest / "config.json").write_text(json.dumps(config))
    return dest


@pytest.fixture(scope="module")
def tokenized(tiny_rows: list[dict], tmp_path_factory) -> Path:
    """A work folder with a train split of real papers and its token cache, made by the tokenize stage."""
    work = tmp_path_factory.mktemp("torchrun")
    train = pd.DataFrame(
        {
            "title": [r["title"] for r in tiny_rows],
            "abstract": [r["abstract"] for r in tiny_rows],
            "primary_category": [r["categories"].split()[0] for r in tiny_rows],
        }
    )
    (work / "data/processed").mkdir(parents=True)
    train.to_parquet(work / "data/processed/train.parquet")
    params = committed_params()
    params["model"].update({"name": str(model_without_dropout(work / "base")), "max_seq_length": 64})
    params["train"].update(TRAIN)
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    run(["python", "-m", "stages.tokenize"], work, env={"PYTHONPATH": str(ROOT)})
    return work


def finetune(work: Path, processes: int) -> tuple[dict, pd.DataFrame]:
    for out in ("models", "metrics/finetune.json", LOSS_CURVE):
        assert not (work / out).is_file()
    run(
        ["torchrun", "--standalone", f"--nproc_per_node={processes}", "-m", "stages.finetune"],
        work,
        env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    metrics = json.loads((work / "metrics/finetune.json").read_text())
    curve = pd.read_csv(work / LOSS_CURVE, sep="\t")
    (work / "metrics/finetune.json").unlink()
    shutil.rmtree(work / "dvclive")
    return metrics, curve


@pytest.mark.e2e  # torchrun's processes
def test_two_processes_follow_the_single_process_loss_curve(tokenized: Path) -> None:
    tokens = json.loads((tokenized / "metrics/tokenize.json").read_text())
    assert tokens["texts"] == 120 and tokens["truncated_fraction"] > 0
    one, curve_one = finetune(tokenized, 1)
    two, curve_two = finetune(tokenized, 2)
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert one["rows"] == two["rows"] == 64 and len(curve_one) == len(curve_two) == 8
    assert curve_one["step"].tolist() == curve_two["step"].tolist()
    gap = (curve_one["loss"] - curve_two["loss"]).abs()
    print(
        json.dumps(
            {
                "max_loss_gap": round(float(gap.max()), 4),
                "curve_1": curve_one["loss"].tolist(),
                "curve_2": curve_two["loss"].tolist(),
            }
        )
    )
    assert gap.max() <= LOSS_TOLERANCE
    assert (tokenized / "models/encoder/modules.json").is_file()


def set_loss(work: Path, loss: str) -> None:
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["train"]["loss"] = loss
    (work / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.mark.parametrize(
    "loss",
    ["mnrl", "contrastive", "batch_hard_soft_margin"],
    ids=["no-duplicates-sampler", "random-sampler", "group-by-label-sampler"],
)
@pytest.mark.e2e  # torchrun's processes
def test_library_samplers_train_on_the_global_batch_under_two_processes(tokenized: Path, loss: str) -> None:
    """The library's samplers get batch_size / processes rows per rank, so 2 processes take the optimizer steps
    of one process: 64 rows in global batches of 8 are 8 steps (each rank would otherwise take 8 rows a step)."""
    set_loss(tokenized, loss)
    try:
        metrics, curve = finetune(tokenized, 2)
    finally:
        set_loss(tokenized, TRAIN["loss"])
    assert metrics["world_size"] == 2 and metrics["rows"] == 64
    assert len(curve) == TRAIN["max_pairs"] // TRAIN["batch_size"]  # a row a step
