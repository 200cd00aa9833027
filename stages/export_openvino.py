"""Stage export_openvino: OpenVINO's int8 graph of the served encoder (NNCF, calibrated on training papers), held to
the int8 parity bars against the served fp32 graph, and the runtime that is fastest on this CPU for each variant."""

from dataclasses import dataclass

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.text import TextConfig
from arxiv_embed.encode.onnx_encoder import OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig
from arxiv_embed.encode.openvino_export import OpenVinoConfig, check_openvino, quantize, record_choice
from arxiv_embed.encode.parity import parity_sample
from arxiv_embed.encode.runtime_choice import Calibration
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    openvino: OpenVinoConfig
    onnx: OnnxConfig
    text: TextConfig


def main(params: Params) -> dict:
    cfg, field, served = params.openvino, params.text.field, LAYOUT.models.served_onnx
    training, _ = parity_sample(LAYOUT.split("train"), cfg.calibration_texts, field)
    texts, labels = parity_sample(LAYOUT.split("val"), params.onnx.parity_texts, field)
    with atomic_path(LAYOUT.models.openvino, is_dir=True) as tmp:
        quantize(served, training, tmp)
        reference = OnnxEncoder(served, "fp32").encode(texts)  # encoded once: the bar's and the timing's reference
        report = check_openvino(served, tmp, texts, reference, labels, params.onnx)
        calibration = Calibration(texts[: cfg.timing_texts], reference[: cfg.timing_texts])
        choices = record_choice(served, tmp, calibration, params.onnx)
    runtimes = {
        variant: chosen.model_dump(include={"chosen", "trials"}) for variant, chosen in choices.variants.items()
    }
    return {**report, "runtimes": runtimes, "cpu": choices.variants["int8"].cpu}


if __name__ == "__main__":
    run_stage("export_openvino", main, Params)
