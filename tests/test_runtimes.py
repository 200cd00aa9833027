"""Each variant's graph on each runtime: OpenVINO's int8 graph (stage export_openvino) holds the parity bar against
the served fp32 graph, OpenVINO runs the served fp32 graph in f32, the server runs each variant on the runtime chosen
for its CPU, times the runtimes itself on another CPU, and ARXIV_EMBED_RUNTIME overrides the choice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from arxiv_embed.bundle import BundleError, LoadOptions, load_bundle, runtime_graphs
from arxiv_embed.data.text import build_texts
from arxiv_embed.encode.onnx_encoder import OnnxEncoder
from arxiv_embed.encode.runtime_choice import Calibration, RuntimeChoices, choose_runtime, fastest, measure_runtimes
from arxiv_embed.encode.runtimes import RUNTIMES, UnreadableGraph, graph_folders
from arxiv_embed.layout import ModelFolders
from arxiv_embed.machine import cpu_isa
from arxiv_embed.metrics import cosines
from serve.app import create_app
from serve.settings import Settings

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def bundle_dir(pipeline_repo: Path) -> Path:
    return pipeline_repo / "models/bundle"


def test_openvino_holds_the_parity_bars(pipeline_repo: Path, test_papers: pd.DataFrame) -> None:
    served, openvino = pipeline_repo / "models/adapter/onnx", pipeline_repo / "models/openvino"
    texts = build_texts(test_papers["title"], test_papers["abstract"], "title_abstract")
    fp32 = OnnxEncoder(served, "fp32").encode(texts)
    int8 = OnnxEncoder(served, "int8", runtime="openvino", graph_folder=openvino).encode(texts)
    assert cosines(fp32, int8)["mean_cosine"] >= 0.99
    fp32_openvino = OnnxEncoder(served, "fp32", runtime="openvino")  # the served ONNX graph, read by OpenVINO
    assert fp32_openvino.graph.precision == "f32" and cosines(fp32, fp32_openvino.encode(texts))["min_cosine"] >= 0.999
    recorded = RuntimeChoices.load(openvino).variants
    measured = json.loads((pipeline_repo / "metrics/export_openvino.json").read_text())
    assert set(recorded) == set(measured["runtimes"]) == {"fp32", "int8"}
    for variant, choice in recorded.items():
        assert set(choice.trials) == set(RUNTIMES) and choice.chosen == fastest(choice.trials)
        assert choice.chosen == measured["runtimes"][variant]["chosen"] and choice.variant == variant
        assert choice.chosen_by == "export" and choice.cpu == cpu_isa() == measured["cpu"]
    assert recorded["fp32"].trials["onnxruntime"].min_cosine == 1.0  # the reference itself


def test_unknown_runtimes_and_missing_graphs_are_refused(bundle_dir: Path, tmp_path: Path) -> None:
    served = bundle_dir / "adapter/onnx"
    with pytest.raises(ValueError, match="unknown runtime 'tvm'; expected one of onnxruntime, openvino"):
        OnnxEncoder(served, "int8", runtime="tvm")
    with pytest.raises(ValueError, match="unknown ONNX variant 'bf16'; expected one of fp32, int8"):
        OnnxEncoder(served, "bf16", runtime="openvino")
    without_choice = tmp_path / "bundle"
    shutil.copytree(bundle_dir, without_choice)
    shutil.rmtree(without_choice / "openvino")  # as a pipeline without export_openvino builds it
    manifest = json.loads((without_choice / "manifest.json").read_text())
    manifest["files"] = {name: sha for name, sha in manifest["files"].items() if not name.startswith("openvino/")}
    (without_choice / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="'openvino' needs export_openvino's output; this bundle lacks it"):
        load_bundle(without_choice, LoadOptions(runtime="openvino"))


def test_a_graph_a_runtime_cannot_read_is_no_candidate(bundle_dir: Path, tmp_path: Path) -> None:
    served = tmp_path / "onnx"
    shutil.copytree(bundle_dir / "adapter/onnx", served)
    shutil.copy(served / "model_int8.onnx", served / "model.onnx")  # onnxruntime's own operators, as a fused graph's
    with pytest.raises(UnreadableGraph, match=r"OpenVINO cannot read .*model\.onnx: "):
        OnnxEncoder(served, "fp32", runtime="openvino")
    calibration, graphs = Calibration.load(bundle_dir / "openvino"), graph_folders("fp32", served, {})
    assert set(measure_runtimes(served, graphs, "fp32", calibration, {"min_cosine": 0.0})) == {"onnxruntime"}


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_another_cpu_times_the_installed_runtimes_at_start(bundle_dir: Path, variant: str) -> None:
    models = ModelFolders(bundle_dir)
    recorded = RuntimeChoices.load(models.openvino).variants[variant]
    calibration, graphs = models.openvino, runtime_graphs(models, variant)
    assert choose_runtime(recorded, models.served_onnx, graphs, calibration) is recorded  # the same CPU
    elsewhere = recorded.model_copy(update={"cpu": {**recorded.cpu, "model": "another CPU"}})
    chosen = choose_runtime(elsewhere, models.served_onnx, graphs, calibration)
    assert chosen.chosen_by == "start" and chosen.cpu == cpu_isa() and set(chosen.trials) == set(RUNTIMES)
    assert chosen.chosen == fastest(chosen.trials) and all(trial.texts_per_s > 0 for trial in chosen.trials.values())
    only_onnxruntime = {"onnxruntime": graphs["onnxruntime"]}  # as in the image without the openvino extra
    alone = choose_runtime(elsewhere, models.served_onnx, only_onnxruntime, calibration)
    assert (alone.chosen, alone.chosen_by) == ("onnxruntime", "default")


@pytest.mark.parametrize("setting", ["auto", "onnxruntime", "openvino"])
def test_ready_names_the_runtime_and_a_setting_overrides_the_choice(bundle_dir: Path, setting: str) -> None:
    recorded = RuntimeChoices.load(bundle_dir / "openvino").variants["int8"]
    with TestClient(create_app(cfg=Settings(models_dir=str(bundle_dir), runtime=setting))) as client:
        ready = client.get("/ready").json()
        assert client.post("/search", json={"text": "neural networks", "k": 3}).status_code == 200
    expected = recorded.chosen if setting == "auto" else setting
    assert ready["encoder_runtime"] == ready["runtime_choice"]["chosen"] == expected
    assert ready["runtime_choice"]["chosen_by"] == ("export" if setting == "auto" else "setting")
    assert ready["runtime_choice"]["trials"] == json.loads(recorded.model_dump_json())["trials"]
    assert {"openvino/openvino_int8.xml", "openvino/runtime.json"} <= set(ready["artifact_hashes"])


def test_fp32_runs_on_the_runtime_chosen_for_it(bundle_dir: Path) -> None:
    recorded = RuntimeChoices.load(bundle_dir / "openvino").variants["fp32"]
    with TestClient(create_app(cfg=Settings(models_dir=str(bundle_dir), onnx_variant="fp32"))) as client:
        ready = client.get("/ready").json()
    assert (ready["onnx_variant"], ready["encoder_runtime"]) == ("fp32", recorded.chosen)
    assert ready["runtime_choice"]["variant"] == "fp32" and ready["runtime_choice"]["bar"] == {"min_cosine": 0.999}
