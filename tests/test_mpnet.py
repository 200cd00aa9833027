"""A model without BERT's inputs, end to end: a tiny, randomly initialised MPNet built here (no download) goes
through the export, its parity bars, the adapter, the bundle and the server, at its own width."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient
from sentence_transformers import SentenceTransformer

from arxiv_embed.data.text import build_text
from arxiv_embed.encode.onnx_encoder import MODEL_FILES, OnnxEncoder
from arxiv_embed.encode.onnx_export import ARCHITECTURES, QuantizeConfig, build_graphs, export_onnx, optimize_graph
from arxiv_embed.encode.parity import check_export, torch_vectors
from arxiv_embed.errors import PipelineError
from serve.app import create_app
from serve.settings import Settings
from tests.conftest import TINY_MPNET_WIDTH as WIDTH
from tests.conftest import TINY_PARAMS, copy_repo, run, set_params
from tests.test_onnx import PARITY


def test_export_declares_only_mpnets_inputs_and_keeps_its_outlier_projections_in_fp32(
    tiny_mpnet: Path, tmp_path: Path, tiny_rows: list[dict]
) -> None:
    model = SentenceTransformer(str(tiny_mpnet), device="cpu")
    export_onnx(model, tmp_path, opset=17, text_field="title_abstract", model_name="tiny-mpnet")
    fused = build_graphs(tmp_path, model, ["int8"], QuantizeConfig(["MatMul", "Attention"], True, False))
    assert fused == {"BiasGelu": 2, "SkipLayerNormalization": 5}  # BERT's fusions, attention left unfused
    for variant in MODEL_FILES:
        session = ort.InferenceSession(str(tmp_path / MODEL_FILES[variant]))
        assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]
    int8 = onnx.load(str(tmp_path / MODEL_FILES["int8"])).graph.node
    kept = sorted(n.name for n in int8 if n.op_type == "MatMul" and "dense" in n.name)
    assert kept == [f"/transformer/encoder/layer.{i}/output/dense/MatMul" for i in range(2)]
    assert sum(n.op_type == "MatMulInteger" for n in int8) == 10  # q, k, v, o and the first projection, per layer
    assert ARCHITECTURES["mpnet"].keep_fp32 and not ARCHITECTURES["bert"].keep_fp32

    texts = [build_text(r["title"], r["abstract"]) for r in tiny_rows[:16]]
    labels = [r["categories"].split()[0] for r in tiny_rows[:16]]
    report = check_export(torch_vectors(model, texts), tmp_path, texts, labels, PARITY)
    assert report["fp32_min_cosine"] >= 0.999 and report["int8_mean_cosine"] >= 0.99
    assert OnnxEncoder(tmp_path, "int8").encode(texts[:2]).shape == (2, WIDTH)


@pytest.mark.e2e  # a pipeline and a server of its own
def test_pipeline_and_server_run_a_tiny_mpnet(tiny_mpnet: Path, tiny_source: Path, tmp_path: Path) -> None:
    """`dvc repro bundle` with model.name set to the tiny MPNet's folder, then the served answers at its width."""
    repo = copy_repo(tmp_path / "repo")
    set_params(repo, TINY_PARAMS)
    set_params(repo, {"data": {"source": str(tiny_source)}, "model": {"name": str(tiny_mpnet)}})
    run(["dvc", "repro", "bundle"], repo, timeout=900)
    bundle = repo / "models/bundle"
    with TestClient(create_app(cfg=Settings(models_dir=str(bundle)))) as client:
        ready = client.get("/ready").json()
        assert ready["status"] == "ready" and ready["dim"] == WIDTH and ready["onnx_variant"] == "int8"
        hits = client.post("/search", json={"text": "quantum entanglement of photons", "k": 3}).json()["results"]
        assert len(hits) == 3 and all(hit["title"] for hit in hits)
        label = client.post("/classify", json={"title": "Black holes", "abstract": "Accretion discs.", "k": 2}).json()
        assert len(label["categories"]) == 2 and all(c["probability"] > 0 for c in label["categories"])
        vector = client.post("/v1/embeddings", json={"input": "a paper", "model": "arxiv-embed"}).json()
        assert len(vector["data"][0]["embedding"]) == WIDTH
        assert np.isclose(np.linalg.norm(vector["data"][0]["embedding"]), 1.0, atol=1e-4)


def test_an_architecture_without_known_fusions_is_exported_unfused(
    tiny_mpnet: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = SentenceTransformer(str(tiny_mpnet), device="cpu")
    model[0].auto_model.config.model_type = "unheard-of"
    export_onnx(model, tmp_path, opset=17, text_field="title_abstract", model_name="tiny-mpnet")
    assert build_graphs(tmp_path, model, ["int8"], QuantizeConfig(["MatMul"], True, False)) == {}
    assert "no graph fusions are known for model_type 'unheard-of'" in caplog.text
    assert sorted(p.name for p in tmp_path.glob("*.onnx")) == ["model.onnx", "model_int8.onnx"]
    int8 = onnx.load(str(tmp_path / MODEL_FILES["int8"])).graph.node
    assert not any(n.op_type == "MatMul" and "dense" in n.name for n in int8)  # nothing kept in fp32
    with pytest.raises(PipelineError, match="no graph fusions are known for model_type 'unheard-of'"):
        optimize_graph(tmp_path / MODEL_FILES["fp32"], tmp_path / "fused.onnx", model)
