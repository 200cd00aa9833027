"""Data-path benchmark: how fast the trainer's input side runs without any model, the proxy for 'never starves a GPU'.

Tokenizes real papers once (as the tokenize stage does), then times what each training step costs besides the
model: the length-grouped sampler's plan and the collation of cached token ids into padded tensors, through a
torch DataLoader in this process. Settings are the gpu profile's: 256 tokens, global batch 128.

    python -m benchmarks.data_path            # 20,000 papers, 100,000 pairs
    python -m benchmarks.data_path --tiny     # 1,000 papers, 4,000 pairs
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader

from arxiv_embed.data.text import build_texts
from arxiv_embed.layout import LAYOUT
from arxiv_embed.params import load_params, section
from arxiv_embed.train.batching import column_array
from arxiv_embed.train.models import load_tokenizer
from arxiv_embed.train.tokens import PAD_MULTIPLE, TokenCache, TokenCollator, tokenize
from arxiv_embed.train.training import TrainConfig, batch_sampler, make_pairs
from benchmarks.common import cpu_isa, report
from tools.sample import real_papers

ROOT = Path(__file__).resolve().parents[1]
GOAL_TEXTS_PER_SECOND = 50_000


def random_padding_share(pairs, tokens: TokenCache, batch_size: int) -> float:
    """Padding if the same rows came in random batches (no length grouping), for comparison."""
    order = np.random.default_rng(0).permutation(len(pairs))
    padded = real = 0
    for column in ("anchor", "positive"):
        lengths = tokens.lengths[column_array(pairs, column)[order]]
        for start in range(0, len(lengths), batch_size):
            batch = lengths[start : start + batch_size]
            padded += len(batch) * int(-(-batch.max() // PAD_MULTIPLE) * PAD_MULTIPLE)
            real += int(batch.sum())
    return round(1 - real / padded, 4)


def time_loader(pairs, tokens: TokenCache, cfg: TrainConfig) -> dict:
    """One epoch through sampler + collator; texts/s counts both texts of every row."""
    start = time.perf_counter()
    sampler = batch_sampler(cfg.spec, pairs, tokens, world=1)(pairs, batch_size=cfg.batch_size, drop_last=False)
    loader = DataLoader(pairs, batch_sampler=sampler, collate_fn=TokenCollator(tokens, ("anchor", "positive")))
    texts = padded = real = 0
    for batch in loader:
        for column in ("anchor", "positive"):
            mask = batch[f"{column}_attention_mask"]
            texts += mask.shape[0]
            padded += mask.numel()
            real += int(mask.sum())
    seconds = time.perf_counter() - start
    return {
        "batches": len(sampler),
        "texts": texts,
        "seconds": round(seconds, 3),
        "texts_per_second": round(texts / seconds),
        "padding_share": round(1 - real / padded, 4),
        "padding_share_random_batches": random_padding_share(pairs, tokens, cfg.batch_size),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=20_000)
    parser.add_argument("--pairs", type=int, default=100_000)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    n_papers, n_pairs = (1000, 4000) if opts.tiny else (opts.papers, opts.pairs)
    papers = real_papers(n_papers)
    texts = build_texts([p["title"] for p in papers], [p["abstract"] for p in papers], "title_abstract")
    categories = np.array([p["categories"].split()[0] for p in papers])
    start = time.perf_counter()
    tokens = tokenize(load_tokenizer("sentence-transformers/all-MiniLM-L6-v2"), texts, 256, processes=2)
    tokenize_seconds = time.perf_counter() - start
    params = load_params(ROOT / "params.yaml")
    base = replace(section(params, "train", TrainConfig), batch_size=128, max_pairs=n_pairs, seed=0)
    samplers = {}
    for loss in ("mnrl_distinct", "mnrl_masked"):
        cfg = replace(base, loss=loss)
        samplers[loss] = time_loader(make_pairs(categories, cfg), tokens, cfg)
    slowest = min(s["texts_per_second"] for s in samplers.values())
    result = {
        "benchmark": "data_path",
        "cpu": cpu_isa(),
        "papers": n_papers,
        "pairs": n_pairs,
        "max_seq_length": 256,
        "batch_size": 128,
        "tokenize": {"seconds": round(tokenize_seconds, 2), "texts_per_second": round(n_papers / tokenize_seconds)},
        "samplers": samplers,
        "texts_per_second": slowest,
        "goal_texts_per_second": GOAL_TEXTS_PER_SECOND,
        "goal_met": slowest >= GOAL_TEXTS_PER_SECOND,
    }
    report("data_path", result, opts.out)


if __name__ == "__main__":
    main()
