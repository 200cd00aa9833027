"""The runtimes that run an encoder graph: ONNX Runtime (always installed) and OpenVINO (an optional extra).

Each is one entry of `RUNTIMES`: which graph file it runs for each variant and how it opens one. Both take the
same feeds (token ids, mask, type ids) and return the graph's pooled, normalised vectors, so `OnnxEncoder`
tokenizes and batches the same way whichever runs the graph. OpenVINO reads the served fp32 ONNX graph itself and
runs it in f32; its int8 graph is its own (NNCF's quantization of the served fp32 graph, `openvino_export`), with
what stays in floating point in bf16 where the CPU has bf16 (OpenVINO's default there) and f32 elsewhere.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

Feeds = dict[str, np.ndarray]


class UnreadableGraph(ValueError):
    """A runtime cannot run a graph: one built with another runtime's own operators (a graph fused by onnxruntime's
    transformer optimizer, its int8 graph) is not a candidate for OpenVINO."""


class GraphRunner(Protocol):
    """One opened graph: the inputs it declares, and its first output for some feeds (thread-safe)."""

    input_names: set[str]

    def __call__(self, feeds: Feeds) -> np.ndarray: ...


class OrtRunner:
    """An onnxruntime session; `spinning=False` puts its idle intra-op threads to sleep instead of busy-waiting
    for the next call: on a few cores a spinning thread takes the cycles that the server's own threads need.
    Each variant is a graph file of its own, so `variant` has nothing to set."""

    def __init__(self, graph: Path, variant: str, threads: int, spinning: bool) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}

    def __call__(self, feeds: Feeds) -> np.ndarray:
        return self.session.run(None, feeds)[0]


class OpenVinoRunner:
    """An OpenVINO compiled model, with one infer request per calling thread (a request is not thread-safe;
    its `infer` releases the GIL). OpenVINO's threads do not spin, so `spinning` has nothing to set. The fp32
    graph runs in f32, as its name says, where OpenVINO would otherwise choose bf16 on a CPU that has it."""

    def __init__(self, graph: Path, variant: str, threads: int, spinning: bool) -> None:
        import openvino as ov

        config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY"}
        if variant == "fp32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        core = ov.Core()
        try:
            model = core.read_model(str(graph))
        except RuntimeError as err:  # operators it cannot convert: the message ends with a summary, a line each
            summary = [line.removeprefix("-- ") for line in str(err).partition("Summary:")[2].splitlines()]
            reason = "; ".join(line for line in summary if line) or str(err).strip().splitlines()[-1]
            raise UnreadableGraph(f"OpenVINO cannot read {graph}: {reason}") from None
        self.model = core.compile_model(model, "CPU", config)
        self.input_names = {port.get_any_name() for port in self.model.inputs}
        self.precision = self.model.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # bf16 or f32
        self._local = threading.local()

    def __call__(self, feeds: Feeds) -> np.ndarray:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.model.create_infer_request()
        return request.infer(feeds)[0].copy()  # the request's buffer is reused by its next call


@dataclass(frozen=True)
class Runtime:
    """A runtime's graph file per variant (every runtime runs both), the package it needs, how it opens a graph,
    which variants' graphs its own export writes (in a folder of its own; the others are the served folder's ONNX
    graphs), and whether its idle threads can spin (the `spinning` setting)."""

    files: dict[str, str]
    package: str
    open: Callable[[Path, str, int, bool], GraphRunner]  # (graph, variant, threads, spinning)
    own: tuple[str, ...] = ()
    spins: bool = False

    def installed(self) -> bool:
        return importlib.util.find_spec(self.package) is not None


OPENVINO_INT8_FILES = ("openvino_int8.xml", "openvino_int8.bin")  # the IR: graph, then weights

RUNTIMES: dict[str, Runtime] = {
    "onnxruntime": Runtime({"fp32": "model.onnx", "int8": "model_int8.onnx"}, "onnxruntime", OrtRunner, spins=True),
    "openvino": Runtime({"fp32": "model.onnx", "int8": OPENVINO_INT8_FILES[0]}, "openvino", OpenVinoRunner, ("int8",)),
}
DEFAULT_RUNTIME = "onnxruntime"


def runtime_of(name: str) -> Runtime:
    """The runtime called `name`, installed; a ValueError naming the choices or the missing package otherwise."""
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}; expected one of {', '.join(RUNTIMES)}")
    runtime = RUNTIMES[name]
    if not runtime.installed():
        raise ValueError(f"runtime {name!r} needs the package {runtime.package!r}: pip install 'arxiv-embed[{name}]'")
    return runtime


def graph_folders(variant: str, served: Path, own: dict[str, Path]) -> dict[str, Path]:
    """Where each runtime's `variant` graph is: the runtime's own folder (`own[name]`) for a graph its export
    wrote, the served folder otherwise."""
    return {
        name: own[name] if variant in runtime.own else served
        for name, runtime in RUNTIMES.items()
        if variant in runtime.files
    }
