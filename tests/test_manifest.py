"""The typed manifest: written and read without a key lost, reordered or retyped, and refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arxiv_embed.bundle import BundleError, read_verified_manifest
from arxiv_embed.layout import ModelFolders
from arxiv_embed.manifest import BundleManifest, Manifest

RECORD = {
    "version": "415acd72baa0",
    "model_name": "sentence-transformers/all-mpnet-base-v2",
    "dim": 768,
    "normalized": True,
    "text_field": "title_abstract",
    "max_seq_length": 128,
    "onnx_variant": "int8",
    "index_type": "flat",
    "index": {"type": "flat", "rerank": 0},
    "index_size": 24000,
    "corpus_size": 24000,
    "newest_datestamp": None,
    "harvest": {"shards": 0, "removed": 0, "encoder": None, "last_days": None},
    "search": {
        "default_mode": "hybrid",
        "weight": 0.6,
        "rrf_k": 60,
        "candidates": 100,
        "val_p_at_10": {"dense": 0.47, "lexical": 0.41, "hybrid": 0.49},
    },
    "recommend": {
        "default_method": "linear_and_nearest",
        "alpha": 1.0,
        "max_terms": 500,
        "max_queries": 8,
        "negatives": 512,
        "seed": 42,
        "val_p_at_10": {"centroid": 0.61, "linear_and_nearest": 0.66},
        "by_shape": [{"library": 5, "interests": 1, "method": "centroid"}],
    },
    "classifier": {
        "weight": 0.3,
        "temperature": 0.73,
        "embedding": {"train_papers": 19099, "classes": 107},
        "tfidf": {"train_papers": 103084, "classes": 107},
        "val_log_loss": {"0.0": 1.17, "0.3": 1.07, "1.0": 1.3},
    },
    "onnx": {
        "fused_ops": {"Attention": 6, "SkipLayerNormalization": 12},
        "fused_graphs": ["int8"],
        "fp32_min_cosine": 0.9999998,
        "fp32_mean_cosine": 1.0,
        "int8_min_cosine": 0.99229,
        "int8_mean_cosine": 0.99521,
        "torch_p@10": 0.2625,
        "int8_p@10": 0.2625,
        "parity_texts": 16,
        "int8_ok": True,
        "adapter": {"int8_vs_fp32": {"min_cosine": 0.993763, "mean_cosine": 0.996033}},
    },
    "versions": {"faiss-cpu": "1.15.1"},
    "files": {},
}


def test_written_as_read_byte_for_byte(tmp_path: Path) -> None:
    """The manifest stage's file and the version hash depend on it: same keys, same order, same JSON types."""
    path = tmp_path / "manifest.json"
    Manifest.model_validate(RECORD).write(path)
    assert path.read_text() == json.dumps(RECORD, indent=2) + "\n"
    assert Manifest.read(path).int8_ok and Manifest.read(path).harvest.encoder is None


def test_a_bundle_manifest_adds_provenance_and_metrics_after_the_files(tmp_path: Path) -> None:
    bundled = BundleManifest(**RECORD, provenance={"commit": "abc"}, metrics={"p@10": 0.5})
    assert list(bundled.model_dump())[-3:] == ["files", "provenance", "metrics"]
    assert BundleManifest.model_validate(RECORD).provenance is None  # models/manifest.json has neither


def test_a_broken_manifest_is_refused_in_one_line_naming_the_key(tmp_path: Path) -> None:
    models = ModelFolders(tmp_path)
    models.manifest.write_text(json.dumps({**RECORD, "dim": "wide"}))
    with pytest.raises(BundleError, match=r"manifest.json is not a manifest: dim: Input should be a valid integer"):
        read_verified_manifest(models)
    models.manifest.write_text("{}")
    with pytest.raises(BundleError, match="is not a manifest: version: Field required"):
        read_verified_manifest(models)


def test_the_specs_a_manifest_carries_are_typed(tmp_path: Path) -> None:
    """A spec the writing stage did not write (a key missing or misspelt) is refused, not carried as a dict."""
    with pytest.raises(ValueError, match="recommend.default_method"):
        Manifest.model_validate({**RECORD, "recommend": {**RECORD["recommend"], "default_method": "magic"}})
    with pytest.raises(ValueError, match="search.rrf_k"):
        Manifest.model_validate({**RECORD, "search": {k: v for k, v in RECORD["search"].items() if k != "rrf_k"}})
    manifest = Manifest.model_validate(RECORD)
    assert manifest.search.fusion.weight == 0.6 and manifest.recommend.ranking.max_queries == 8
    assert manifest.onnx.torch_p_at_10 == 0.2625 and manifest.onnx.adapter["int8_vs_fp32"].min_cosine > 0.99
