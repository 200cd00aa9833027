"""Stage export_onnx: the fp32 ONNX encoder and its int8 quantization (each from the traced or the fused graph,
`onnx.fuse`), checked against torch on validation papers: cosine, and P@10 among the papers for int8."""

from dataclasses import dataclass

from arxiv_embed.atomic import atomic_path, write_json
from arxiv_embed.data.text import TextConfig
from arxiv_embed.encode.onnx_encoder import PARITY_FILE
from arxiv_embed.encode.onnx_export import OnnxConfig, build_graphs, export_onnx
from arxiv_embed.encode.parity import check_export, parity_sample, torch_vectors
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage
from arxiv_embed.train.models import ModelConfig, load_trained_encoder


@dataclass(frozen=True)
class Params:
    onnx: OnnxConfig
    text: TextConfig
    model: ModelConfig


def main(params: Params) -> dict:
    cfg, field = params.onnx, params.text.field
    model = load_trained_encoder(LAYOUT.models.encoder, "cpu")
    texts, labels = parity_sample(LAYOUT.split("val"), cfg.parity_texts, field)
    reference = torch_vectors(model, texts)
    with atomic_path(LAYOUT.models.exported_onnx, is_dir=True) as tmp:
        export_onnx(model, tmp, cfg.opset, field, params.model.name)
        fused = build_graphs(tmp, model, cfg.fuse, cfg.quantize)
        report = {
            "fused_ops": fused,
            "fused_graphs": list(cfg.fuse),
            **check_export(reference, tmp, texts, labels, cfg),
        }
        write_json(tmp / PARITY_FILE, report)
    return report


if __name__ == "__main__":
    run_stage("export_onnx", main, Params)
