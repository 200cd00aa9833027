"""Encoding benchmark: torch (sentence-transformers) vs onnxruntime fp32 vs onnxruntime int8, same texts.

Reports texts/s, cosine to torch (mean, min) and P@10 on the validation split for each encoder, and the
speed ratios to torch. Uses the pipeline's models/encoder and models/onnx.

    python -m benchmarks.encode          # 2,000 real titles + abstracts
    python -m benchmarks.encode --tiny   # 32 texts, to check it still runs
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from arxiv_embed.data.text import build_text, build_texts
from arxiv_embed.encode.onnx_encoder import OnnxEncoder
from arxiv_embed.evaluation.metrics import neighbour_labels, retrieval_report
from arxiv_embed.search.index import exact_index
from arxiv_embed.train.models import load_trained_encoder
from benchmarks.common import real_papers, report


def timed(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> tuple[np.ndarray, float]:
    encode(texts[:8])  # warm-up: first-call allocations and graph setup
    start = time.perf_counter()
    vectors = encode(texts)
    return vectors, len(texts) / (time.perf_counter() - start)


def p_at_10(vectors: np.ndarray, val: pd.DataFrame) -> float:
    _, positions = exact_index(vectors).search(vectors, 11)
    labels = neighbour_labels(val["id"], positions, val["id"], val["primary_category"], 10)
    return retrieval_report(val["primary_category"].to_numpy(), labels, [10])["p@10"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--val", type=Path, default=Path("data/processed/val.parquet"))
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("metrics"))
    opts = parser.parse_args()
    n = 32 if opts.tiny else opts.texts
    texts = [build_text(p["title"], p["abstract"]) for p in real_papers(n, seed=2)]
    val = pd.read_parquet(opts.val)
    val = val.head(64) if opts.tiny else val
    val_texts = build_texts(val["title"], val["abstract"], "title_abstract")

    torch_model = load_trained_encoder(opts.models / "encoder", "cpu")
    encoders: dict[str, Callable[[list[str]], np.ndarray]] = {
        "torch_fp32": lambda t: torch_model.encode(t, batch_size=opts.batch_size, normalize_embeddings=True),
    }
    for variant in ("fp32", "int8"):
        onnx = OnnxEncoder(opts.models / "onnx", variant)
        encoders[f"onnx_{variant}"] = lambda t, e=onnx: e.encode(t, batch_size=opts.batch_size)

    results: dict[str, dict] = {}
    reference = None
    for name, encode in encoders.items():
        vectors, speed = timed(encode, texts)
        reference = vectors if reference is None else reference
        cosines = np.sum(vectors * reference, axis=1)
        results[name] = {
            "texts_per_s": round(speed, 1),
            "mean_cosine_to_torch": round(float(cosines.mean()), 5),
            "min_cosine_to_torch": round(float(cosines.min()), 5),
            "val_p@10": p_at_10(encode(val_texts), val),
        }
    torch_speed = results["torch_fp32"]["texts_per_s"]
    for row in results.values():
        row["speedup_vs_torch"] = round(row["texts_per_s"] / torch_speed, 2)
        row["val_p@10_change"] = round(row["val_p@10"] - results["onnx_fp32"]["val_p@10"], 4)
    result = {
        "benchmark": "encode",
        "texts": len(texts),
        "max_seq_length": torch_model.max_seq_length,
        "batch_size": opts.batch_size,
        "encoders": results,
        "goal": {"int8_speedup_vs_torch": 1.8, "int8_mean_cosine": 0.99, "int8_val_p@10_change_max": 0.01},
    }
    report("encode", result, opts.out)


if __name__ == "__main__":
    main()
