"""Encoding benchmark: torch (sentence-transformers) vs the served ONNX graphs, and the choices behind them.

Reports texts/s, cosine to torch (mean, min) and P@10 on the validation split for torch and the served fp32
and int8 graphs (models/onnx) on each installed runtime (OpenVINO's int8 graph quantized here as export_openvino
quantizes, calibrated on as many training papers), then measures what the export and the encoder chose among, on
the same texts: the graph before and after ONNX Runtime's transformer fusions, int8 quantization settings (which
ops, per channel or per tensor, reduced range), the token budget per onnxruntime call, and onnxruntime's thread
count.

    python -m benchmarks.encode          # 1,000 real titles + abstracts
    python -m benchmarks.encode --tiny   # 32 texts, to check it still runs
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from sentence_transformers import SentenceTransformer

from arxiv_embed.data.text import build_text, build_texts
from arxiv_embed.encode.onnx_encoder import CONFIG_FILE, MODEL_FILES, TOKENIZER_FILE, OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig, QuantizeConfig, export_onnx, optimize_graph, quantize_int8
from arxiv_embed.encode.openvino_export import OpenVinoConfig, quantize
from arxiv_embed.encode.parity import parity_sample
from arxiv_embed.encode.runtimes import RUNTIMES
from arxiv_embed.layout import LAYOUT
from arxiv_embed.metrics import leave_one_out_precision
from arxiv_embed.params import load_params, section
from arxiv_embed.train.models import load_trained_encoder
from benchmarks.common import report
from tools.sample import real_papers

Encode = Callable[[list[str]], np.ndarray]
QUANTIZATIONS = {
    "matmul_per_tensor": QuantizeConfig(op_types=["MatMul"], per_channel=False, reduce_range=False),
    "matmul_per_channel": QuantizeConfig(op_types=["MatMul"], per_channel=True, reduce_range=False),
    "matmul_attention_per_channel": QuantizeConfig(
        op_types=["MatMul", "Attention"], per_channel=True, reduce_range=False
    ),
    "matmul_attention_per_channel_reduce_range": QuantizeConfig(
        op_types=["MatMul", "Attention"], per_channel=True, reduce_range=True
    ),
}
TOKEN_BUDGETS = [512, 1024, 2048, 4096, 8192]
THREADS = [1, 2]


def timed(encode: Encode, texts: list[str]) -> tuple[np.ndarray, float]:
    encode(texts[:8])  # warm-up: first-call allocations and graph setup
    start = time.perf_counter()
    vectors = encode(texts)
    return vectors, len(texts) / (time.perf_counter() - start)


class Bench:
    """The texts, the torch reference vectors, and how any encoder compares with them."""

    def __init__(self, texts: list[str], reference: np.ndarray, val_texts: list[str], val_labels) -> None:
        self.texts, self.reference = texts, reference
        self.val_texts, self.val_labels = val_texts, val_labels

    def row(self, encode: Encode, with_p10: bool = True) -> dict:
        vectors, speed = timed(encode, self.texts)
        cosines = np.sum(vectors * self.reference, axis=1)
        found = {
            "texts_per_s": round(speed, 1),
            "mean_cosine_to_torch": round(float(cosines.mean()), 5),
            "min_cosine_to_torch": round(float(cosines.min()), 5),
        }
        if with_p10:
            found["val_p@10"] = leave_one_out_precision(encode(self.val_texts), self.val_labels)
        return found


def graph_folder(folder: Path, graph: Path) -> Path:
    """An encoder folder holding a copy of one graph file as its fp32 model, with `graph`'s tokenizer and config."""
    folder.mkdir()
    shutil.copy(graph, folder / MODEL_FILES["fp32"])
    for name in (TOKENIZER_FILE, CONFIG_FILE):
        shutil.copy(graph.parent / name, folder / name)
    return folder


def openvino_encoders(onnx: Path, calibration: list[str], work: Path) -> dict[str, Encode]:
    """OpenVINO on the fp32 graph (in f32) and on its own int8 graph of it; none where it is not installed."""
    if not RUNTIMES["openvino"].installed():
        return {}
    target = work / "openvino"
    target.mkdir()
    quantize(onnx, calibration, target)
    return {
        "openvino_fp32": OnnxEncoder(onnx, "fp32", runtime="openvino").encode,
        "openvino_int8": OnnxEncoder(onnx, "int8", runtime="openvino", graph_folder=target).encode,
    }


def measure_choices(model: SentenceTransformer, bench: Bench, onnx: Path, opset: int, work: Path) -> dict:
    """The fusion, quantization, token-budget and thread choices, each measured on the same texts."""
    unfused = work / "unfused"
    unfused.mkdir()
    export_onnx(model, unfused, opset, "title_abstract", "benchmark")
    fused = graph_folder(work / "fused", unfused / MODEL_FILES["fp32"])
    optimize_graph(unfused / MODEL_FILES["fp32"], fused / MODEL_FILES["fp32"], model)
    graphs = {"unfused": unfused, "fused": fused}
    choices: dict = {"fp32_graph": {name: bench.row(OnnxEncoder(f).encode, False) for name, f in graphs.items()}}
    choices["int8_quantization"] = {}
    for name, cfg in QUANTIZATIONS.items():
        folder = graph_folder(work / name, fused / MODEL_FILES["fp32"])
        quantize_int8(folder / MODEL_FILES["fp32"], folder / MODEL_FILES["int8"], cfg)
        choices["int8_quantization"][name] = {**asdict(cfg), **bench.row(OnnxEncoder(folder, "int8").encode)}
    choices["int8_max_tokens"] = {
        str(budget): bench.row(OnnxEncoder(onnx, "int8", max_tokens=budget).encode, False) for budget in TOKEN_BUDGETS
    }
    choices["int8_threads"] = {str(n): bench.row(OnnxEncoder(onnx, "int8", threads=n).encode, False) for n in THREADS}
    return choices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=LAYOUT.models.root)
    parser.add_argument("--val", type=Path, default=LAYOUT.split("val"))
    parser.add_argument("--train", type=Path, default=LAYOUT.split("train"), help="papers that calibrate OpenVINO")
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", type=Path, default=LAYOUT.metrics)
    opts = parser.parse_args()
    n = 32 if opts.tiny else opts.texts
    texts = [build_text(p["title"], p["abstract"]) for p in real_papers(n, seed=2)]
    val = pd.read_parquet(opts.val)
    val = val.head(64) if opts.tiny else val
    val_texts = build_texts(val["title"], val["abstract"], "title_abstract")

    model = load_trained_encoder(opts.models / "encoder", "cpu")
    torch_encode = lambda t: model.encode(t, batch_size=32, normalize_embeddings=True)  # noqa: E731
    reference, torch_speed = timed(torch_encode, texts)
    bench = Bench(texts, reference, val_texts, val["primary_category"])
    params, onnx = load_params(), opts.models / "onnx"
    calibration_texts = 32 if opts.tiny else section(params, "openvino", OpenVinoConfig).calibration_texts
    calibration, _ = parity_sample(opts.train, calibration_texts, "title_abstract")
    with tempfile.TemporaryDirectory(prefix="bench-encode-") as work:
        encoders = {"torch_fp32": torch_encode}
        for variant in MODEL_FILES:
            encoders[f"onnx_{variant}"] = OnnxEncoder(onnx, variant).encode
        encoders |= openvino_encoders(onnx, calibration, Path(work))
        results = {name: bench.row(encode) for name, encode in encoders.items()}
        choices = measure_choices(model, bench, onnx, section(params, "onnx", OnnxConfig).opset, Path(work))
    results["torch_fp32"]["texts_per_s"] = round(torch_speed, 1)
    for row in results.values():
        row["speedup_vs_torch"] = round(row["texts_per_s"] / results["torch_fp32"]["texts_per_s"], 2)
        row["val_p@10_change"] = round(row["val_p@10"] - results["torch_fp32"]["val_p@10"], 4)
    result = {
        "benchmark": "encode",
        "texts": len(texts),
        "max_seq_length": model.max_seq_length,
        "encoders": results,
        "choices": choices,
        "goal": {"int8_speedup_vs_torch": 1.8, "int8_mean_cosine": 0.99, "int8_val_p@10_change_max": 0.01},
    }
    report("encode", result, opts.out, per_cpu=True)


if __name__ == "__main__":
    main()
