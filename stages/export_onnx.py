"""Stage export_onnx: ONNX fp32 and int8 encoders with a parity check against torch on validation texts."""

import json
from dataclasses import dataclass

import pandas as pd

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.text import TextConfig, build_texts
from arxiv_embed.encode.onnx_encoder import PARITY_FILE
from arxiv_embed.encode.onnx_export import OnnxConfig, export_onnx, parity, quantize_int8
from arxiv_embed.errors import PipelineError
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
    texts = build_texts(val["title"], val["abstract"], field)
    with atomic_path(MODELS_DIR / "onnx", is_dir=True) as tmp:
        export_onnx(model, tmp, cfg.opset, field, params.model.name)
        fp32 = parity(model, tmp, texts, "fp32")
        if fp32["min_cosine"] < cfg.min_cosine:
            raise PipelineError(
                f"ONNX parity failed: min cosine {fp32['min_cosine']:.6f} < {cfg.min_cosine} on {len(texts)} texts"
            )
        quantize_int8(tmp)
        int8 = parity(model, tmp, texts, "int8")
        report = {
            "fp32_min_cosine": round(fp32["min_cosine"], 7),
            "fp32_mean_cosine": round(fp32["mean_cosine"], 7),
            "int8_min_cosine": round(int8["min_cosine"], 5),
            "int8_mean_cosine": round(int8["mean_cosine"], 5),
            "int8_ok": int8["mean_cosine"] >= cfg.int8_min_mean_cosine,
            "parity_texts": len(texts),
        }
        (tmp / PARITY_FILE).write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    run_stage("onnx", main, Params)
