"""ONNX export of the real MiniLM: a real onnxruntime session matches torch on real papers, with or without the
adapter appended."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from sentence_transformers import SentenceTransformer

from arxiv_embed.data.text import build_text
from arxiv_embed.encode.onnx_encoder import OnnxEncoder
from arxiv_embed.encode.onnx_export import append_adapter, export_onnx, parity, quantize_int8
from arxiv_embed.train.adapter import LinearAdapter, adapted_sentence_model
from arxiv_embed.train.models import load_sentence_model


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple:
    model = load_sentence_model("sentence-transformers/all-MiniLM-L6-v2", "cpu", max_seq_length=96)
    folder = tmp_path_factory.mktemp("onnx")
    export_onnx(model, folder, opset=17, text_field="title_abstract", model_name="minilm")
    quantize_int8(folder)
    return model, folder


def test_fp32_parity_on_real_papers(exported: tuple, tiny_rows: list[dict]) -> None:
    model, folder = exported
    texts = [build_text(r["title"], r["abstract"]) for r in tiny_rows[:24]] + ["short", "x " * 500]
    report = parity(model, folder, texts, "fp32")
    assert report["min_cosine"] >= 0.999
    encoder = OnnxEncoder(folder)
    vectors = encoder.encode(texts, batch_size=5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # batching and length-sorting do not change a text's vector
    np.testing.assert_allclose(encoder.encode(texts[:1]), vectors[:1], atol=1e-5)


def test_int8_stays_close(exported: tuple, tiny_rows: list[dict]) -> None:
    model, folder = exported
    texts = [build_text(r["title"], r["abstract"]) for r in tiny_rows[:24]]
    assert parity(model, folder, texts, "int8")["mean_cosine"] >= 0.98
    # MatMul weights are int8; the word-embedding table (a Gather) stays fp32
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
