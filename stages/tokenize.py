"""Stage tokenize: the train split's token ids, once, for every finetune run that shares model and text params."""

import os
import time
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage
from arxiv_embed.train.models import ModelConfig, load_tokenizer
from arxiv_embed.train.tokens import tokenize


@dataclass(frozen=True)
class Params:
    model: ModelConfig
    text: TextConfig


def main(params: Params) -> dict:
    train = pd.read_parquet(LAYOUT.split("train"), columns=["title", "abstract"])
    texts = build_texts(train["title"], train["abstract"], params.text.field)
    max_length = params.model.max_seq_length
    start = time.perf_counter()
    cache = tokenize(load_tokenizer(params.model.name), texts, max_length, os.cpu_count() or 1)
    seconds = time.perf_counter() - start
    with atomic_path(LAYOUT.tokens) as tmp:
        cache.save(tmp)
    lengths = cache.lengths
    return {
        "texts": len(cache),
        "tokens": int(lengths.sum()),
        "mean_length": round(float(lengths.mean()), 1) if len(cache) else 0.0,
        "truncated_fraction": round(float((lengths >= max_length).mean()), 4) if len(cache) else 0.0,
        "texts_per_second": round(len(cache) / seconds, 1) if seconds else None,
    }


if __name__ == "__main__":
    run_stage("tokenize", main, Params)
