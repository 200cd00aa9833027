"""The all-of-arXiv path on tiny data: the Ray engine (a local Ray) and the IVF-PQ index, through `dvc repro`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from arxiv_embed.data.vectors import iter_vectors
from arxiv_embed.encode.corpus_encoder import EncoderSpec
from arxiv_embed.encode.embedding import embed_local
from serve.app import create_app
from serve.settings import Settings
from tests.conftest import run, set_params

pytestmark = pytest.mark.e2e

RAY_PARAMS = {
    "embed": {"engine": "ray", "onnx_variant": "fp32", "batch_rows": 32},
    "index": {"type": "ivfpq", "ivf_nlist": 2, "ivf_nprobe": 2, "pq_m": 32, "rerank": 30},
}


@pytest.fixture(scope="module")
def ray_repo(pipeline_repo: Path, tmp_path_factory) -> Path:
    """A copy of the tiny pipeline re-run with the Ray engine and an IVF-PQ index (with fp16 re-rank)."""
    repo = tmp_path_factory.mktemp("ray") / "repo"
    shutil.copytree(pipeline_repo, repo, symlinks=True)
    set_params(repo, RAY_PARAMS)
    run(["dvc", "repro"], repo, timeout=900)
    return repo


def vectors_by_id(folder: Path) -> dict[str, np.ndarray]:
    return {i: v for ids, vectors in iter_vectors(folder) for i, v in zip(ids, vectors, strict=True)}


def test_ray_engine_gives_the_local_engines_vectors(ray_repo: Path, tmp_path: Path) -> None:
    embed = json.loads((ray_repo / "metrics/embed.json").read_text())
    assert embed["engine"] == "ray" and embed["encoder"] == "onnx-fp32" and embed["corpus_vectors"] == 120
    onnx, torch_dir = str(ray_repo / "models/onnx"), str(ray_repo / "models/encoder")
    spec = EncoderSpec(onnx, torch_dir, "fp32", "cpu", max_tokens=1024, batch_size=64)
    assert embed_local(spec, ray_repo / "data/processed/corpus", tmp_path, "title_abstract", 32) == 120
    local, distributed = vectors_by_id(tmp_path), vectors_by_id(ray_repo / "data/embeddings/corpus")
    assert set(local) == set(distributed)
    cosines = np.array([np.dot(local[i], distributed[i]) for i in local])
    assert cosines.min() >= 0.9999


def test_ivfpq_index_is_evaluated_and_served(ray_repo: Path) -> None:
    index = json.loads((ray_repo / "metrics/build_index.json").read_text())
    assert index["type"] == "ivfpq" and index["rerank"] == 30 and "vectors_f16.npy" in index["bytes"]
    ev = json.loads((ray_repo / "metrics/evaluate.json").read_text())
    assert ev["index_type"] == "ivfpq" and ev["index_recall@10"] >= 0.95 and ev["onnx_variant"] == "fp32"
    with TestClient(create_app(cfg=Settings(models_dir=str(ray_repo / "models")))) as client:
        ready = client.get("/ready").json()
        assert ready["index_type"] == "ivfpq" and ready["onnx_variant"] == "fp32"
        hits = client.post("/search", json={"text": "galaxy rotation curves and dark matter", "k": 5}).json()
        assert len(hits["results"]) == 5
        by_id = client.post("/search", json={"id": hits["results"][0]["id"], "k": 3}).json()["results"]
        assert len(by_id) == 3 and hits["results"][0]["id"] not in {h["id"] for h in by_id}
