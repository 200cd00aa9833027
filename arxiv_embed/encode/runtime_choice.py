"""Which runtime runs the int8 graph on the CPU at hand: the fastest installed one that holds the parity bar.

The `export_openvino` stage times every installed runtime's int8 graph on the CPU it runs on and keeps the
trials and the choice in runtime.json, with a calibration set (texts and their fp32 vectors) in calibration.npz.
A server on a CPU of the same description (model, cores, vector extensions) takes the recorded choice; on another
it times the installed runtimes itself on the calibration set before it serves (seconds), since each runtime's
int8 speed moves with the ISA; a runtime named in its settings skips both.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel

from arxiv_embed.encode.onnx_encoder import OnnxEncoder
from arxiv_embed.encode.runtimes import DEFAULT_RUNTIME, RUNTIMES
from arxiv_embed.machine import cpu_isa
from arxiv_embed.metrics import cosines
from arxiv_embed.spec_file import SpecFile

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.npz"  # `texts` and their fp32 vectors `reference`
TIMED_ROUNDS = 3  # each runtime's speed is the best of this many passes over the calibration texts


class Trial(BaseModel):
    """One runtime's int8 graph on one CPU: speed, and fidelity to the served fp32 graph."""

    texts_per_s: float
    mean_cosine: float
    min_cosine: float
    precision: str  # what its floating-point part ran in (bf16 or f32 for OpenVINO; f32 for onnxruntime)
    ok: bool  # mean cosine at least the bar


class RuntimeChoice(SpecFile):
    """The runtime that serves the int8 graph, the trials it was chosen from and the CPU they ran on."""

    FILE = "runtime.json"

    variant: Literal["int8"] = "int8"
    cpu: dict
    texts: int
    min_mean_cosine: float
    trials: dict[str, Trial]
    chosen: str
    chosen_by: Literal["export", "start", "setting", "default"] = "export"  # default: the one runtime installed


def time_runtime(encoder: OnnxEncoder, texts: list[str], reference: np.ndarray, min_mean_cosine: float) -> Trial:
    encoder.encode(texts[:8])  # warm-up: first-call allocations and shape compilation
    seconds = []
    for _ in range(TIMED_ROUNDS):
        start = time.perf_counter()
        vectors = encoder.encode(texts)
        seconds.append(time.perf_counter() - start)
    found = cosines(reference, vectors)
    return Trial(
        texts_per_s=round(len(texts) / min(seconds), 1),
        mean_cosine=round(found["mean_cosine"], 5),
        min_cosine=round(found["min_cosine"], 5),
        precision=getattr(encoder.graph, "precision", "f32"),
        ok=found["mean_cosine"] >= min_mean_cosine,
    )


def measure_runtimes(
    served: Path, graphs: dict[str, Path], texts: list[str], reference: np.ndarray, min_mean_cosine: float, **encoder
) -> dict[str, Trial]:
    """Each installed runtime's int8 graph (in `graphs[name]`, tokenizer and config in `served`) on `texts`;
    `encoder` passes threads and max_tokens on."""
    trials = {}
    for name, runtime in RUNTIMES.items():
        if "int8" in runtime.files and runtime.installed() and name in graphs:
            run = OnnxEncoder(served, "int8", runtime=name, graph_folder=graphs[name], **encoder)
            trials[name] = time_runtime(run, texts, reference, min_mean_cosine)
            log.info("int8 on %s: %s", name, trials[name])
    return trials


def fastest(trials: dict[str, Trial]) -> str:
    """The fastest runtime that holds the bar; onnxruntime when none does."""
    passing = {name: trial.texts_per_s for name, trial in trials.items() if trial.ok}
    return max(passing, key=passing.__getitem__) if passing else DEFAULT_RUNTIME


def choose_runtime(
    recorded: RuntimeChoice, served: Path, graphs: dict[str, Path], calibration: Path, **encoder
) -> RuntimeChoice:
    """The recorded choice on the CPU it was made on (if that runtime is installed here); the one runtime
    installed here, if only one is; otherwise a new choice, timed here on the calibration set."""
    cpu = cpu_isa()
    if recorded.cpu == cpu and RUNTIMES[recorded.chosen].installed():
        return recorded
    installed = [name for name in graphs if RUNTIMES[name].installed()]
    if len(installed) == 1:
        return recorded.model_copy(update={"chosen": installed[0], "chosen_by": "default"})
    with np.load(calibration) as saved:
        texts, reference = [str(t) for t in saved["texts"]], saved["reference"]
    log.info("int8 runtime chosen on %s, not on this CPU (%s): timing the installed runtimes", recorded.cpu, cpu)
    trials = measure_runtimes(served, graphs, texts, reference, recorded.min_mean_cosine, **encoder)
    update = {"cpu": cpu, "trials": trials, "chosen": fastest(trials), "chosen_by": "start"}
    return recorded.model_copy(update=update)
