"""OpenVINO's int8 graph of the served encoder, and the runtime that serves each variant on this CPU.

NNCF's post-training quantization of the served fp32 graph (the adapter appended), calibrated on training
papers, saved as OpenVINO IR; weights of what stays in floating point are kept in fp32. It is held to the same
bars as the exported int8 graph, against the served fp32 graph: mean cosine (`onnx.int8_min_mean_cosine`) and
P@10 among the parity papers (`onnx.max_p10_drop`). Then every installed runtime's fp32 and int8 graphs are timed
on this CPU and, for each variant, the fastest that holds its bar (`onnx.min_cosine` for fp32, the int8 mean
cosine for int8) is recorded (`runtime_choice`), with the calibration set a server on another CPU times them on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from arxiv_embed.encode.onnx_encoder import MODEL_FILES, OnnxEncoder
from arxiv_embed.encode.onnx_export import OnnxConfig
from arxiv_embed.encode.parity import check_int8
from arxiv_embed.encode.runtime_choice import (
    Bar,
    Calibration,
    RuntimeChoice,
    RuntimeChoices,
    fastest,
    measure_runtimes,
)
from arxiv_embed.encode.runtimes import OPENVINO_INT8_FILES, graph_folders
from arxiv_embed.machine import cpu_isa
from arxiv_embed.params import Count, params_section


@params_section
class OpenVinoConfig:
    """The `openvino` section: how many papers calibrate NNCF's quantization and time the runtimes."""

    calibration_texts: Count  # training papers whose activations set the int8 ranges
    timing_texts: Count  # validation papers each runtime's int8 graph is timed on (and a server on another CPU)


def quantize(served: Path, texts: list[str], target: Path) -> None:
    """NNCF's int8 quantization of `served`'s fp32 graph, calibrated on `texts` (8 a batch), saved in `target`."""
    import nncf
    import openvino as ov

    encoder = OnnxEncoder(served, "fp32")
    model = ov.Core().read_model(str(served / MODEL_FILES["fp32"]))
    names = [port.get_any_name() for port in model.inputs]
    batches = [encoder.feeds(encoder.tokenize(texts[i : i + 8])) for i in range(0, len(texts), 8)]
    dataset = nncf.Dataset(batches, lambda feeds: {name: feeds[name] for name in names})
    quantized = nncf.quantize(model, dataset, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(batches))
    ov.save_model(quantized, str(target / OPENVINO_INT8_FILES[0]), compress_to_fp16=False)


def check_openvino(
    served: Path, target: Path, texts: list[str], reference: np.ndarray, labels, cfg: OnnxConfig
) -> dict:
    """OpenVINO's int8 graph in `target` against the served fp32 graph's `reference` vectors of the parity papers;
    raises below a bar."""
    vectors = OnnxEncoder(served, "int8", runtime="openvino", graph_folder=target).encode(texts)
    names, fix = ("fp32", "openvino_int8"), "raise openvino.calibration_texts"
    found, p10 = check_int8(reference, vectors, labels, cfg, names, fix)
    return {
        "openvino_int8_mean_cosine": round(found["mean_cosine"], 5),
        "openvino_int8_min_cosine": round(found["min_cosine"], 5),
        **{f"{name}_p@10": value for name, value in p10.items()},
        "parity_texts": len(texts),
    }


def bars(cfg: OnnxConfig) -> dict[str, Bar]:
    """What each variant's graph must hold against the served fp32 graph on any runtime: the export's bars."""
    return {"fp32": {"min_cosine": cfg.min_cosine}, "int8": {"mean_cosine": cfg.int8_min_mean_cosine}}


def record_choice(served: Path, target: Path, calibration: Calibration, cfg: OnnxConfig) -> RuntimeChoices:
    """Every installed runtime's graph of each variant timed on this CPU; the fastest that holds the variant's bar,
    saved in `target` (which holds OpenVINO's int8 graph)."""
    choices, cpu, texts = {}, cpu_isa(), len(calibration.texts)
    for variant, bar in bars(cfg).items():
        graphs = graph_folders(variant, served, {"openvino": target})
        trials = measure_runtimes(served, graphs, variant, calibration, bar)
        choices[variant] = RuntimeChoice(
            variant=variant, cpu=cpu, texts=texts, bar=bar, trials=trials, chosen=fastest(trials)
        )
    calibration.save(target)
    recorded = RuntimeChoices(variants=choices)
    recorded.save(target)
    return recorded
