"""ONNX export of the real MiniLM: the fused graph and its int8 quantization in real onnxruntime sessions match
torch on real papers, with or without the adapter appended."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import yaml
from sentence_transformers import SentenceTransformer

from arxiv_embed.data.text import build_text
from arxiv_embed.encode.onnx_encoder import PARITY_FILE, OnnxEncoder, token_batches
from arxiv_embed.encode.onnx_export import (
    OnnxConfig,
    QuantizeConfig,
    append_adapter,
    build_graphs,
    export_onnx,
    optimize_graph,
)
from arxiv_embed.encode.parity import check_export, torch_vectors
from arxiv_embed.encode.served_graphs import write_served_models
from arxiv_embed.errors import PipelineError
from arxiv_embed.layout import AdapterFolder
from arxiv_embed.metrics import cosines
from arxiv_embed.train.adapter import NO_ADAPTER, LinearAdapter, adapted_sentence_model
from arxiv_embed.train.models import load_sentence_model
from tests.conftest import ROOT, run


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple:
    model = load_sentence_model("sentence-transformers/all-MiniLM-L6-v2", "cpu", max_seq_length=96)
    folder = tmp_path_factory.mktemp("onnx")
    export_onnx(model, folder, opset=17, text_field="title_abstract", model_name="minilm")
    fused = build_graphs(folder, model, ["int8"], QuantizeConfig(["MatMul", "Attention"], True, False))
    assert fused == {"EmbedLayerNormalization": 1, "Attention": 6, "BiasGelu": 6, "SkipLayerNormalization": 12}
    assert sorted(f.name for f in folder.glob("*.onnx")) == ["model.onnx", "model_int8.onnx"]
    return model, folder


def test_a_fused_fp32_graph_equals_the_traced_one(exported: tuple, tmp_path: Path, tiny_rows: list[dict]) -> None:
    model, folder = exported
    texts = [build_text(r["title"], r["abstract"]) for r in tiny_rows[:16]]
    for name in ("tokenizer.json", "encoder_config.json"):
        shutil.copy(folder / name, tmp_path / name)
    fused = optimize_graph(folder / "model.onnx", tmp_path / "model.onnx", model)
    assert fused["Attention"] == 6
    np.testing.assert_allclose(OnnxEncoder(tmp_path).encode(texts), OnnxEncoder(folder).encode(texts), atol=1e-5)


def torch_parity(model: SentenceTransformer, folder: Path, texts: list[str], variant: str) -> dict[str, float]:
    reference = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    return cosines(reference, OnnxEncoder(folder, variant).encode(texts))


def test_token_batches_cut_by_padded_tokens() -> None:
    lengths = [5, 128, 3, 60, 60, 7, 300]
    batches = token_batches(lengths, max_tokens=128)
    assert [lengths[i] for b in batches for i in b] == sorted(lengths)  # ascending, every text once
    assert all(len(b) * max(lengths[i] for i in b) <= 128 or len(b) == 1 for b in batches)
    assert [len(b) for b in batches] == [3, 2, 1, 1]  # 3 short ones together; 300 tokens go alone
    assert token_batches([], 128) == []


def test_fp32_parity_on_real_papers(exported: tuple, tiny_rows: list[dict]) -> None:
    model, folder = exported
    texts = [build_text(r["title"], r["abstract"]) for r in tiny_rows[:24]] + ["short", "x " * 500]
    assert torch_parity(model, folder, texts, "fp32")["min_cosine"] >= 0.999
    vectors = OnnxEncoder(folder, max_tokens=300).encode(texts)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # the token budget, length-sorting and tokenizing ahead in chunks do not change a text's vector
    np.testing.assert_allclose(OnnxEncoder(folder).encode(texts[:1]), vectors[:1], atol=1e-5)
    many = texts * 25  # more than one tokenizer chunk
    np.testing.assert_allclose(OnnxEncoder(folder).encode(many)[-len(texts) :], vectors, atol=1e-5)


def test_int8_stays_close(exported: tuple, tiny_rows: list[dict]) -> None:
    model, folder = exported
    texts = [build_text(r["title"], r["abstract"]) for r in tiny_rows[:24]]
    assert torch_parity(model, folder, texts, "int8")["mean_cosine"] >= 0.99
    # MatMul and Attention weights are int8; the word-embedding table stays fp32
    assert (Path(folder) / "model_int8.onnx").stat().st_size < 0.7 * (Path(folder) / "model.onnx").stat().st_size


def test_appended_graph_and_sentence_model_apply_the_adapter(tmp_path: Path, exported: tuple, tiny_rows) -> None:
    """The encoder graph with the adapter appended equals the adapter applied to the graph's output, and the
    sentence-transformers folder with its Dense module gives the same vectors."""
    model, folder = exported
    texts = [r["title"] for r in tiny_rows[:16]]  # shorter than max_seq_length: the raw session does not truncate
    rng = np.random.default_rng(0)
    dim = model.get_embedding_dimension()
    weight = (np.eye(dim) + 0.1 * rng.normal(size=(dim, dim))).astype(np.float32)[:48]  # 48 outputs
    adapter = LinearAdapter(weight, rng.normal(size=48).astype(np.float32))
    append_adapter(folder / "model.onnx", tmp_path / "adapted.onnx", adapter.weight, adapter.bias)
    feeds = model.tokenizer(texts, padding=True, return_tensors="np")
    inputs = {k: feeds[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
    plain = ort.InferenceSession(str(folder / "model.onnx")).run(None, inputs)[0]
    adapted = ort.InferenceSession(str(tmp_path / "adapted.onnx")).run(None, inputs)[0]
    assert adapted.shape == (len(texts), 48)
    np.testing.assert_allclose(adapted, adapter.apply(plain), atol=1e-5)

    adapted_sentence_model(model, adapter).save_pretrained(str(tmp_path / "st"))
    reloaded = SentenceTransformer(str(tmp_path / "st"), device="cpu")
    np.testing.assert_allclose(reloaded.encode(texts, convert_to_numpy=True), adapted, atol=1e-4)


def test_export_stage_fails_in_one_line_when_int8_misses_its_bar_and_keeps_the_graphs(
    pipeline_repo: Path, tmp_path: Path
) -> None:
    """`python -m stages.export_onnx` with an int8 bar no quantization meets: exit 1, one line naming the bar and
    `onnx.quantize`, and the graphs of the earlier run untouched."""
    params = yaml.safe_load((pipeline_repo / "params.yaml").read_text())
    params["onnx"]["int8_min_mean_cosine"] = 0.99999
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "models").mkdir()
    (tmp_path / "models/encoder").symlink_to(pipeline_repo / "models/encoder")
    shutil.copytree(pipeline_repo / "models/onnx", tmp_path / "models/onnx")
    (tmp_path / "data").mkdir()
    (tmp_path / "data/processed").symlink_to(pipeline_repo / "data/processed")
    before = {f.name: f.read_bytes() for f in (tmp_path / "models/onnx").iterdir()}
    proc = run([sys.executable, "-m", "stages.export_onnx"], tmp_path, check=False, env={"PYTHONPATH": str(ROOT)})
    assert proc.returncode == 1
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("error: export_onnx: int8 parity failed on ") and "change onnx.quantize" in message, (
        message
    )
    assert {f.name: f.read_bytes() for f in (tmp_path / "models/onnx").iterdir()} == before


PARITY = OnnxConfig(
    opset=17,
    fuse=["int8"],
    quantize=QuantizeConfig(["MatMul", "Attention"], True, False),
    parity_texts=16,
    min_cosine=0.99,
    int8_min_mean_cosine=0.95,
    max_p10_drop=1.0,
)


def test_export_parity_reports_both_graphs_and_stops_in_one_line_below_a_bar(exported: tuple, tiny_rows) -> None:
    model, folder = exported
    texts = [build_text(r["title"], r["abstract"]) for r in tiny_rows[:16]]
    labels = [r["categories"].split()[0] for r in tiny_rows[:16]]
    reference = torch_vectors(model, texts)
    report = check_export(reference, folder, texts, labels, PARITY)
    assert report["fp32_min_cosine"] >= 0.99 and report["int8_mean_cosine"] >= 0.95 and report["parity_texts"] == 16
    with pytest.raises(PipelineError, match=r"int8 parity failed on 16 texts: .* change onnx.quantize"):
        check_export(reference, folder, texts, labels, replace(PARITY, int8_min_mean_cosine=0.99999))


def test_served_graphs_carry_the_adapter_and_pass_through_without_one(exported: tuple, tiny_rows, tmp_path) -> None:
    """With an adapter: both graphs and the sentence-transformers copy append it and agree with the stored
    vectors; without: the exported graphs and the encoder are copied as they are. Either way int8_ok is recorded."""
    model, folder = exported
    graphs, encoder = tmp_path / "exported", tmp_path / "encoder"
    shutil.copytree(folder, graphs)
    (graphs / PARITY_FILE).write_text(json.dumps({"int8_mean_cosine": 0.99}))
    model.save_pretrained(str(encoder))
    texts = [r["title"] for r in tiny_rows[:16]]
    rng = np.random.default_rng(0)
    dim = model.get_embedding_dimension()
    weight = (np.eye(dim) + 0.05 * rng.normal(size=(dim, dim))).astype(np.float32)[:32]
    adapter = LinearAdapter(weight, np.zeros(32, np.float32))

    with_adapter = AdapterFolder(tmp_path / "adapted")
    with_adapter.root.mkdir()
    report = write_served_models(with_adapter, adapter, graphs, encoder, texts, PARITY)
    assert set(report) == {"fp32_vs_stored", "int8_vs_stored", "torch_vs_fp32", "int8_vs_fp32"}
    assert report["fp32_vs_stored"]["min_cosine"] > 0.9999 and OnnxEncoder(with_adapter.served_onnx).dim == 32
    recorded = json.loads((with_adapter.served_onnx / PARITY_FILE).read_text())
    assert recorded["int8_ok"] and recorded["adapter"] == report and recorded["int8_mean_cosine"] == 0.99

    passed = AdapterFolder(tmp_path / "plain")
    passed.root.mkdir()
    assert write_served_models(passed, NO_ADAPTER, graphs, encoder, texts, PARITY) == {}
    assert (passed.served_onnx / "model.onnx").read_bytes() == (graphs / "model.onnx").read_bytes()
    assert (passed.sentence_model / "config.json").is_file()
