"""Stage export_openvino: OpenVINO's int8 graph of the served encoder (NNCF, calibrated on training papers), held to
the int8 parity bars against the served fp32 graph, and the int8 runtime that is fastest on this CPU."""

from dataclasses import dataclass

from arxiv_embed.atomic import atomic_path
from arxiv_embed.data.text import TextConfig
from arxiv_embed.encode.onnx_encoder import OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig
from arxiv_embed.encode.openvino_export import OpenVinoConfig, Timing, check_openvino, quantize, record_choice
from arxiv_embed.encode.parity import parity_sample
from arxiv_embed.layout import LAYOUT
from arxiv_embed.stage import run_stage


@dataclass(frozen=True)
class Params:
    openvino: OpenVinoConfig
    onnx: OnnxConfig
    text: TextConfig


def main(params: Params) -> dict:
    cfg, field, served = params.openvino, params.text.field, LAYOUT.models.served_onnx
    calibration, _ = parity_sample(LAYOUT.split("train"), cfg.calibration_texts, field)
    texts, labels = parity_sample(LAYOUT.split("val"), params.onnx.parity_texts, field)
    with atomic_path(LAYOUT.models.openvino, is_dir=True) as tmp:
        quantize(served, calibration, tmp)
        reference = OnnxEncoder(served, "fp32").encode(texts)  # encoded once: the bar's and the timing's reference
        report = check_openvino(served, tmp, texts, reference, labels, params.onnx)
        timing = Timing(texts[: cfg.timing_texts], reference[: cfg.timing_texts])
        choice = record_choice(served, tmp, timing, params.onnx.int8_min_mean_cosine)
    trials = {name: trial.model_dump() for name, trial in choice.trials.items()}
    return {**report, "int8_runtime": choice.chosen, "trials": trials, "cpu": choice.cpu}


if __name__ == "__main__":
    run_stage("export_openvino", main, Params)
