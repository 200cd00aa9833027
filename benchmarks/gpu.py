"""GPU throughput: fine-tuning and corpus-embedding texts/s with the `gpu` profile's settings, on real papers.

What a GPU machine lacks travels in one folder that `python -m tools.gpu_carry` writes (fp16 weights, a slice of
real papers, the wheels of the training stack); there:

    pip install --no-deps --no-index gpu-carry/wheels/*.whl
    python -m benchmarks.gpu --carry gpu-carry

It trains with the pipeline's own code (token cache, length-grouped sampler, loss, trainer) and embeds with the
GPU corpus encoder, so the numbers are the stages' numbers. Any device works; `--tiny` checks it on a CPU.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch

from arxiv_embed.data.text import build_texts
from arxiv_embed.device import resolve_device
from arxiv_embed.encode.torch_encoder import TorchCorpusEncoder
from arxiv_embed.layout import LAYOUT
from arxiv_embed.params import load_params, section
from arxiv_embed.train.models import load_sentence_model
from arxiv_embed.train.tokens import tokenize
from arxiv_embed.train.training import TrainConfig, finetune, make_pairs
from arxiv_embed.versions import library_versions
from benchmarks.common import report
from tools.gpu_carry import MODEL_DIR, PAPERS_FILE

ROOT = Path(__file__).resolve().parents[1]
GOAL = {"finetune_texts_per_second": 8000, "embed_texts_per_second": 20000, "device": "one H100"}


def gpu_profile() -> dict:
    """params.yaml overlaid with configs/profile/gpu.yaml: what `-S profile=gpu` composes (no Hydra needed there)."""
    params = load_params(ROOT / "params.yaml")
    for name, values in load_params(ROOT / "configs/profile/gpu.yaml").items():
        params[name] = {**params.get(name, {}), **values}
    return params


def train_speed(carry: Path, texts: list[str], categories, params: dict, pairs: int, device: str) -> dict:
    model = load_sentence_model(str(carry / MODEL_DIR), device, params["model"]["max_seq_length"]).float()
    tokens = tokenize(model.tokenizer, texts, params["model"]["max_seq_length"], os.cpu_count() or 1)
    cfg = replace(
        section(params, "train", TrainConfig), epochs=1, max_pairs=pairs, device=device, wandb="off", processes=1
    )
    rows = make_pairs(categories, cfg)
    start = time.perf_counter()
    curve = finetune(model, rows, tokens, cfg, device)
    seconds = time.perf_counter() - start
    return {
        "pairs": len(rows),
        "batch_size": cfg.batch_size,
        "loss_fn": cfg.loss,
        "seconds": round(seconds, 2),
        "texts_per_second": round(2 * len(rows) / seconds, 1),
        "final_loss": round(curve[-1]["loss"], 4) if curve else None,
    }


def embed_speed(folder: Path, texts: list[str], count: int, batch_size: int, device: str) -> dict:
    """The GPU corpus encoder over `count` texts (the papers repeated); speed does not depend on the weights."""
    corpus = (texts * (count // len(texts) + 1))[:count]
    encoder = TorchCorpusEncoder(folder, device, batch_size)
    encoder.encode(corpus[:batch_size])  # warm-up: kernels, allocator
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    encoder.encode(corpus)
    seconds = time.perf_counter() - start
    speed = round(count / seconds, 1)
    return {"texts": count, "batch_size": batch_size, "seconds": round(seconds, 2), "texts_per_second": speed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carry", type=Path, default=Path("gpu-carry"), help="folder written by tools.gpu_carry")
    parser.add_argument("--pairs", type=int, default=50_000, help="training pairs (one epoch)")
    parser.add_argument("--embed-texts", type=int, default=200_000)
    parser.add_argument("--tiny", action="store_true", help="a few batches, to check the benchmark runs (CPU)")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    if not (opts.carry / PAPERS_FILE).is_file():
        fix = f"python -m tools.gpu_carry --out {opts.carry}"
        raise SystemExit(f"error: {opts.carry} holds no {PAPERS_FILE}: run `{fix}` where the sample is")
    params = gpu_profile()
    if opts.tiny:
        params["model"]["max_seq_length"] = 64
        params["train"].update(batch_size=8, dataloader_workers=0)
        params["embed"]["batch_size"] = 16
    device = resolve_device("auto", "device")
    papers = pd.read_parquet(opts.carry / PAPERS_FILE)
    texts = build_texts(papers["title"], papers["abstract"], params["text"]["field"])
    trained = train_speed(
        opts.carry, texts, papers["primary_category"].to_numpy(), params, 32 if opts.tiny else opts.pairs, device
    )
    count = 64 if opts.tiny else opts.embed_texts
    embedded = embed_speed(opts.carry / MODEL_DIR, texts, count, params["embed"]["batch_size"], device)
    report(
        "gpu",
        {
            "benchmark": "gpu finetune + embed",
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "papers": len(papers),
            "max_seq_length": params["model"]["max_seq_length"],
            "finetune": trained,
            "embed": embedded,
            "versions": library_versions(),
            "goal": GOAL,
        },
        opts.out,
    )


if __name__ == "__main__":
    main()
