"""Which runtime runs each variant's graph on the CPU at hand: the fastest installed one that holds the bar.

The `export_openvino` stage times every installed runtime's fp32 and int8 graphs on the CPU it runs on and keeps
the trials and the choices in runtime.json, with a calibration set (texts and their fp32 vectors) in
calibration.npz. A server on a CPU of the same description (model, cores, vector extensions) takes the recorded
choice; on another it times the installed runtimes itself on the calibration set before it serves (seconds), since
each runtime's speed moves with the ISA; a runtime named in its settings skips both.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Self

import numpy as np
from pydantic import BaseModel

from arxiv_embed.encode.onnx_encoder import OnnxEncoder
from arxiv_embed.encode.runtimes import DEFAULT_RUNTIME, RUNTIMES, UnreadableGraph
from arxiv_embed.machine import cpu_isa
from arxiv_embed.metrics import cosines
from arxiv_embed.spec_file import SpecFile

log = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.npz"  # `texts` and their fp32 vectors `reference`
TIMED_ROUNDS = 3  # each runtime's speed is the best of this many passes over the calibration texts
Variant = Literal["fp32", "int8"]
Bar = dict[Literal["mean_cosine", "min_cosine"], float]  # the least cosine to the served fp32 graph, per statistic


class Trial(BaseModel):
    """One runtime's graph on one CPU: speed, and fidelity to the served fp32 graph."""

    texts_per_s: float
    mean_cosine: float
    min_cosine: float
    precision: str  # what its floating-point part ran in (bf16 or f32 for OpenVINO's int8; f32 otherwise)
    ok: bool  # every cosine statistic of the bar at least the bar's


class RuntimeChoice(BaseModel):
    """The runtime that serves one variant's graph, the trials it was chosen from and the CPU they ran on."""

    variant: Variant
    cpu: dict
    texts: int
    bar: Bar
    trials: dict[str, Trial]
    chosen: str
    chosen_by: Literal["export", "start", "setting", "default"] = "export"  # default: the one runtime installed


class RuntimeChoices(SpecFile):
    """The export stage's choice for each variant (runtime.json)."""

    FILE = "runtime.json"

    variants: dict[Variant, RuntimeChoice]


@dataclass(frozen=True)
class Calibration:
    """What the runtimes are timed on: texts, and the served fp32 graph's vectors of them."""

    texts: list[str]
    reference: np.ndarray

    def save(self, folder: Path) -> None:
        np.savez(folder / CALIBRATION_FILE, texts=np.asarray(self.texts), reference=self.reference)

    @classmethod
    def load(cls, folder: Path) -> Self:
        with np.load(folder / CALIBRATION_FILE) as saved:
            return cls([str(t) for t in saved["texts"]], saved["reference"])


def time_runtime(encoder: OnnxEncoder, calibration: Calibration, bar: Bar) -> Trial:
    texts = calibration.texts
    encoder.encode(texts[:8])  # warm-up: first-call allocations and shape compilation
    seconds = []
    for _ in range(TIMED_ROUNDS):
        start = time.perf_counter()
        vectors = encoder.encode(texts)
        seconds.append(time.perf_counter() - start)
    found = cosines(calibration.reference, vectors)
    return Trial(
        texts_per_s=round(len(texts) / min(seconds), 1),
        mean_cosine=round(found["mean_cosine"], 5),
        min_cosine=round(found["min_cosine"], 5),
        precision=getattr(encoder.graph, "precision", "f32"),
        ok=all(found[statistic] >= least for statistic, least in bar.items()),
    )


def measure_runtimes(
    served: Path, graphs: dict[str, Path], variant: Variant, calibration: Calibration, bar: Bar, **encoder
) -> dict[str, Trial]:
    """Each installed runtime's `variant` graph (in `graphs[name]`, tokenizer and config in `served`) timed on the
    calibration texts; `encoder` passes threads and max_tokens on."""
    trials = {}
    for name, runtime in RUNTIMES.items():
        if variant in runtime.files and runtime.installed() and name in graphs:
            try:
                run = OnnxEncoder(served, variant, runtime=name, graph_folder=graphs[name], **encoder)
            except UnreadableGraph as err:
                log.warning("%s: not a candidate for %s", err, variant)
                continue
            trials[name] = time_runtime(run, calibration, bar)
            log.info("%s on %s: %s", variant, name, trials[name])
    return trials


def fastest(trials: dict[str, Trial]) -> str:
    """The fastest runtime that holds the bar; onnxruntime when none does."""
    passing = {name: trial.texts_per_s for name, trial in trials.items() if trial.ok}
    return max(passing, key=passing.__getitem__) if passing else DEFAULT_RUNTIME


def choose_runtime(
    recorded: RuntimeChoice, served: Path, graphs: dict[str, Path], calibration_folder: Path, **encoder
) -> RuntimeChoice:
    """The recorded choice on the CPU it was made on (if that runtime is installed here); the one runtime
    installed here, if only one is; otherwise a new choice, timed here on the calibration set."""
    cpu = cpu_isa()
    if recorded.cpu == cpu and RUNTIMES[recorded.chosen].installed():
        return recorded
    installed = [name for name in graphs if RUNTIMES[name].installed()]
    if len(installed) == 1:
        return recorded.model_copy(update={"chosen": installed[0], "chosen_by": "default"})
    log.info("%s runtime chosen on %s, not on this CPU (%s): timing the runtimes", recorded.variant, recorded.cpu, cpu)
    calibration = Calibration.load(calibration_folder)
    trials = measure_runtimes(served, graphs, recorded.variant, calibration, recorded.bar, **encoder)
    update = {"cpu": cpu, "trials": trials, "chosen": fastest(trials), "chosen_by": "start"}
    return recorded.model_copy(update=update)
