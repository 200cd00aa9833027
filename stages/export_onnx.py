"""Stage export_onnx: the fp32 ONNX encoder and its int8 quantization (each from the traced or the fused graph,
`onnx.fuse`), checked against torch on validation papers: cosine, and P@10 among the papers for int8."""

import json
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.encode.onnx_encoder import PARITY_FILE, OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig, build_graphs, cosines, export_onnx
from arxiv_embed.errors import PipelineError
from arxiv_embed.evaluation.metrics import leave_one_out_precision
from arxiv_embed.layout import ENCODER_DIR, MODELS_DIR, split_path
from arxiv_embed.stage import run_stage
from arxiv_embed.train.models import ModelConfig, load_trained_encoder


@dataclass(frozen=True)
class Params:
    onnx: OnnxConfig
    text: TextConfig
    model: ModelConfig


def main(params: Params) -> dict:
    cfg, field = params.onnx, params.text.field
    model = load_trained_encoder(ENCODER_DIR, "cpu")
    val = pd.read_parquet(split_path("val")).head(cfg.parity_texts)
    texts, labels = build_texts(val["title"], val["abstract"], field), val["primary_category"]
    reference = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    with atomic_path(MODELS_DIR / "onnx", is_dir=True) as tmp:
        export_onnx(model, tmp, cfg.opset, field, params.model.name)
        fused = build_graphs(tmp, model, cfg.fuse, cfg.quantize)
        fp32 = cosines(reference, OnnxEncoder(tmp, "fp32").encode(texts))
        if fp32["min_cosine"] < cfg.min_cosine:
            raise PipelineError(
                f"ONNX parity failed: min cosine {fp32['min_cosine']:.6f} < onnx.min_cosine {cfg.min_cosine} on "
                f"{len(texts)} texts{' (try without fp32 in onnx.fuse)' if 'fp32' in cfg.fuse else ''}"
            )
        int8_vectors = OnnxEncoder(tmp, "int8").encode(texts)
        int8 = cosines(reference, int8_vectors)
        p10 = {
            "torch": leave_one_out_precision(reference, labels),
            "int8": leave_one_out_precision(int8_vectors, labels),
        }
        if int8["mean_cosine"] < cfg.int8_min_mean_cosine or p10["torch"] - p10["int8"] > cfg.max_p10_drop:
            raise PipelineError(
                f"int8 parity failed on {len(texts)} texts: mean cosine {int8['mean_cosine']:.5f} (onnx."
                f"int8_min_mean_cosine {cfg.int8_min_mean_cosine}), P@10 {p10['int8']} vs torch {p10['torch']} "
                f"(onnx.max_p10_drop {cfg.max_p10_drop}); change onnx.quantize"
            )
        report = {
            "fused_ops": fused,
            "fused_graphs": list(cfg.fuse),
            "fp32_min_cosine": round(fp32["min_cosine"], 7),
            "fp32_mean_cosine": round(fp32["mean_cosine"], 7),
            "int8_min_cosine": round(int8["min_cosine"], 5),
            "int8_mean_cosine": round(int8["mean_cosine"], 5),
            "torch_p@10": p10["torch"],
            "int8_p@10": p10["int8"],
            "parity_texts": len(texts),
        }
        (tmp / PARITY_FILE).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    run_stage("onnx", main, Params)
