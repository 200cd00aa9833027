"""The FastAPI app on the artifacts of the real pipeline run: every endpoint and every bad input."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faiss
import httpx
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from arxiv_embed.bundle import BundleError, LoadOptions, load_bundle
from arxiv_embed.data.arxiv_ids import id_month
from arxiv_embed.data.text import build_texts
from arxiv_embed.encode.onnx_encoder import OnnxEncoder
from arxiv_embed.engine.batcher import BatchTimes, MicroBatcher
from arxiv_embed.search.modes import SEARCH_MODES
from serve.app import create_app
from serve.metrics import BATCH_TEXTS, ENCODE_SECONDS, QUEUE_SECONDS, REQUEST_SECONDS, REQUESTS, TEXTS_ENCODED
from serve.settings import Settings, settings
from tests.conftest import run
from tests.helpers import metric, wait_until
from tools.processes import free_port, start_server, wait_for_http

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def models_dir(pipeline_repo: Path) -> Path:
    return pipeline_repo / "models/bundle"


@pytest.fixture(scope="module")
def client(models_dir: Path):
    with TestClient(create_app(cfg=Settings(models_dir=str(models_dir)))) as c:
        yield c


def test_health_ready_and_page(client: TestClient, pipeline_repo: Path) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    dim = json.loads((pipeline_repo / "models/manifest.json").read_text())["dim"]  # the encoder's, no fixed width
    assert ready["status"] == "ready" and ready["dim"] == dim and ready["onnx_variant"] == "int8"
    assert ready["index_size"] > 0 and "adapter/onnx/model.onnx" in ready["artifact_hashes"]
    assert ready["search_mode"] in SEARCH_MODES
    commit = run(["git", "rev-parse", "HEAD"], pipeline_repo).stdout.strip()
    # the run that built it: the plain repro, or an experiment whose bundle the run cache restored (test_pipeline)
    assert ready["provenance"] == {**ready["provenance"], "git_commit": commit, "git_dirty": True}
    evaluation = json.loads((pipeline_repo / "metrics/evaluate.json").read_text())
    assert (
        ready["metrics"]["p@10"] == evaluation["p@10"] and ready["metrics"]["accuracy_lo"] == evaluation["accuracy_lo"]
    )
    assert ready["release"] is None  # not fetched from the registry
    fitted = json.loads((pipeline_repo / "metrics/fit_classifier.json").read_text())
    learned = ready["classifier"]
    assert learned["embedding"] == {"train_papers": fitted["train_papers"], "classes": fitted["embedding_classes"]}
    assert learned["tfidf"] == {"train_papers": fitted["tfidf_train_papers"], "classes": fitted["classes"]}
    page = client.get("/")
    assert page.status_code == 200 and "<textarea" in page.text
    assert "/search" in client.get("/openapi.json").json()["paths"]


def test_embeddings_match_the_pipeline(
    client: TestClient, models_dir: Path, pipeline_repo: Path, test_papers: pd.DataFrame
) -> None:
    """The server encodes with the graph that encoded the corpus (int8 by default).

    Dynamic int8 quantisation scales activations per batch, so a text's vector moves slightly with the batch it
    is encoded in: the same batch gives the same vectors, the corpus's batches give cosines near 1.
    """
    stored = np.load(pipeline_repo / "data/adapted/test.npz")  # the served vectors: after the adapter
    assert stored["ids"].tolist() == test_papers["id"].tolist()
    texts = build_texts(test_papers["title"], test_papers["abstract"], "title_abstract")
    vectors = np.array(client.post("/embed", json={"texts": texts}).json()["vectors"])
    same_batch = load_bundle(models_dir, LoadOptions(max_tokens=settings.max_tokens)).encoder.encode(texts)
    np.testing.assert_allclose(vectors, same_batch, atol=1e-5)
    cosines = np.sum(vectors * stored["vectors"], axis=1)
    # measured 0.993 min / 0.996 mean on AVX-512 VNNI; other ISAs quantise activations a little differently
    assert cosines.min() >= 0.98 and cosines.mean() >= 0.99


def test_idle_encoder_threads_sleep_when_told(models_dir: Path, test_papers: pd.DataFrame) -> None:
    """ARXIV_EMBED_SPINNING=false: onnxruntime's idle intra-op threads sleep instead of busy-waiting; the vectors
    are the same."""
    texts = build_texts(test_papers["title"], test_papers["abstract"], "title_abstract")[:4]
    encoders = {
        spinning: OnnxEncoder(models_dir / "adapter/onnx", "fp32", spinning=spinning) for spinning in (True, False)
    }
    entry = "session.intra_op.allow_spinning"
    assert {s: e.graph.session.get_session_options().get_session_config_entry(entry) for s, e in encoders.items()} == {
        True: "1",
        False: "0",
    }
    np.testing.assert_array_equal(encoders[True].encode(texts), encoders[False].encode(texts))


def test_micro_batcher_cuts_by_tokens_and_answers_each_caller(models_dir: Path, test_papers: pd.DataFrame) -> None:
    """Concurrent callers share onnxruntime calls of at most `max_tokens` (a bigger request alone), each gets its
    own texts' vectors, and a lone caller after them is sent on without a wait for company."""
    encoder = OnnxEncoder(models_dir / "adapter/onnx", "fp32")
    texts = build_texts(test_papers["title"], test_papers["abstract"], "title_abstract")[:12]
    budget = 3 * max(len(e.ids) for e in encoder.tokenize(texts))
    batches: list[int] = []
    times: list[BatchTimes] = []

    class Recorded:
        tokenize = staticmethod(encoder.tokenize)

        def encode_tokens(self, encodings):
            batches.append(sum(len(e.ids) for e in encodings))
            return encoder.encode_tokens(encodings)

    async def scenario() -> tuple[list[np.ndarray], np.ndarray, bool]:
        batcher = MicroBatcher(Recorded(), budget, max_wait_ms=50, on_batch=times.append)
        batcher.start()
        try:
            await batcher.embed(texts[:1])  # alone: the batcher learns there is no company
            answers = [v for v, _ in await asyncio.gather(*(batcher.embed([t]) for t in texts), batcher.embed(texts))]
            lone, _ = await batcher.embed(texts[:1])
            return answers, lone, batcher.company
        finally:
            await batcher.stop()

    answers, lone, company = asyncio.run(scenario())
    expected = encoder.encode(texts)
    for text_vector, answer in zip(expected, answers[:-1], strict=True):
        np.testing.assert_allclose(answer[0], text_vector, atol=1e-5)
    np.testing.assert_allclose(answers[-1], expected, atol=1e-5)
    np.testing.assert_allclose(lone[0], expected[0], atol=1e-5)
    assert len(batches) >= 1 + len(texts) // 4  # twice 12 texts' tokens, at most ~4 texts' a call
    assert not company  # the last batch had one caller
    assert [t.tokens for t in times] == batches and sum(t.texts for t in times) == 2 * len(texts) + 2
    assert sum(len(t.waits) for t in times) == len(texts) + 3  # one wait a caller
    assert all(t.compute > 0 and min(t.waits) >= 0 for t in times)


def test_classify_and_search(client: TestClient, test_papers: pd.DataFrame) -> None:
    paper = test_papers.iloc[0]
    cls = client.post("/classify", json={"title": paper["title"], "abstract": paper["abstract"], "k": 3}).json()
    probs = [c["probability"] for c in cls["categories"]]
    assert len(probs) == 3 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert client.post("/classify", json={"title": paper["title"]}).status_code == 200

    hits = client.post("/search", json={"text": paper["abstract"], "k": 5}).json()["results"]
    assert len(hits) == 5 and [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert hits[0]["id"] == paper["id"]  # its own abstract finds the paper first
    by_id = client.post("/search", json={"id": paper["id"], "k": 5}).json()["results"]
    assert len(by_id) == 5 and paper["id"] not in {h["id"] for h in by_id}

    for mode in SEARCH_MODES:  # its own abstract finds the paper first in every mode
        found = client.post("/search", json={"text": paper["abstract"], "k": 5, "mode": mode}).json()
        assert found["mode"] == mode and found["results"][0]["id"] == paper["id"], mode
    default = client.post("/search", json={"text": paper["abstract"]}).json()["mode"]
    assert default == client.get("/ready").json()["search_mode"]

    stored = client.get(f"/papers/{paper['id']}").json()
    assert stored == {
        **{"id": paper["id"], "title": paper["title"], "category": paper["primary_category"]},
        "date": id_month(paper["id"]),  # the base corpus carries no datestamp: the month of its arXiv id
    }


def test_classify_serves_the_pipelines_hybrid(client: TestClient, models_dir: Path, test_papers: pd.DataFrame) -> None:
    """/classify answers with the blend of the embedding and TF-IDF models the pipeline chose and evaluated."""
    bundle = load_bundle(models_dir)
    assert 0.0 <= bundle.classifier.weight <= 1.0 and bundle.classifier.features.size > 0
    for _, paper in test_papers.head(3).iterrows():
        text = build_texts([paper["title"]], [paper["abstract"]], "title_abstract")
        expected = bundle.classifier.predict_proba(bundle.encoder.encode(text), text)[0]
        body = {"title": paper["title"], "abstract": paper["abstract"], "k": 3}
        got = client.post("/classify", json=body).json()["categories"]
        top = np.argsort(-expected)[:3]
        assert [c["category"] for c in got] == bundle.classifier.classes[top].tolist()
        np.testing.assert_allclose([c["probability"] for c in got], expected[top], atol=1e-5)
        as_text = client.post("/classify", json={"text": text[0], "k": 3}).json()["categories"]
        assert as_text == got  # one free text, read as the paper's title and abstract are


def test_classify_takes_a_free_text_or_fields_never_both(client: TestClient) -> None:
    assert client.post("/classify", json={"text": "surface codes under biased noise"}).status_code == 200
    mixed = client.post("/classify", json={"text": "surface codes", "title": "surface codes"})
    assert mixed.status_code == 422


def test_prometheus_metrics(client: TestClient) -> None:
    """Requests by route and status, their latency, and an encoding's time split into queue wait and compute."""
    client.get("/health")
    client.post("/embed", json={"texts": ["a first text", "a second one"]})
    body = client.get("/metrics").text
    assert f'{REQUESTS}{{method="GET",path="/health",status="200"}}' in body
    assert f"{REQUEST_SECONDS}_bucket" in body
    counts = {line.split()[0]: float(line.split()[1]) for line in body.splitlines() if line.startswith("arxiv_embed_")}
    assert counts[f"{QUEUE_SECONDS}_count"] >= 1  # one a request
    assert counts[f"{ENCODE_SECONDS}_count"] >= 1  # one a micro-batch
    assert counts[f"{BATCH_TEXTS}_sum"] >= 2


@pytest.mark.parametrize(
    ("method", "path", "payload", "status"),
    [
        ("post", "/embed", {"texts": []}, 422),
        ("post", "/embed", {"texts": ["   "]}, 422),
        ("post", "/embed", {"texts": ["x" * (settings.max_text_chars + 1)]}, 422),
        ("post", "/embed", {"texts": ["a"] * (settings.max_batch + 1)}, 422),
        ("post", "/embed", {"texts": "not a list"}, 422),
        ("post", "/embed", {"texts": [1, 2]}, 422),
        ("post", "/classify", {}, 422),
        ("post", "/classify", {"title": " ", "abstract": ""}, 422),
        ("post", "/classify", {"abstract": "graphs", "k": 0}, 422),
        ("post", "/search", {"text": "graphs", "k": 0}, 422),
        ("post", "/search", {"text": "graphs", "k": settings.max_k + 1}, 422),
        ("post", "/search", {"text": "graphs", "k": "ten"}, 422),
        ("post", "/search", {"text": "graphs", "id": "0704.0001"}, 422),
        ("post", "/search", {"text": "graphs", "mode": "fuzzy"}, 422),
        ("post", "/search", {"id": "0704.0001", "mode": "lexical"}, 422),
        ("post", "/search", {}, 422),
        ("post", "/search", {"text": "\n\t "}, 422),
        ("post", "/search", {"id": "9999.99999"}, 404),
        ("get", "/papers/9999.99999", None, 404),
    ],
)
def test_bad_input_is_4xx_with_reason(client: TestClient, method: str, path: str, payload, status: int) -> None:
    response = client.post(path, json=payload) if method == "post" else client.get(path)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_non_json_and_oversized_bodies(client: TestClient) -> None:
    bad = client.post("/search", content=b"{not json", headers={"content-type": "application/json"})
    assert bad.status_code == 422 and bad.json()["detail"]
    big = client.post(
        "/embed", content=b"x" * (settings.max_body_bytes + 1), headers={"content-type": "application/json"}
    )
    assert big.status_code == 413 and "bytes" in big.json()["detail"]


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def index_from_another_run(path: Path) -> None:
    """A valid FAISS index of the same dimension, but of other vectors: what a mixed-up copy would hold."""
    dim = faiss.read_index(str(path)).d
    other = faiss.IndexFlatIP(dim)
    other.add(np.random.default_rng(0).standard_normal((32, dim)).astype(np.float32))
    faiss.write_index(other, str(path))


def overwrite(path: Path) -> None:
    path.write_bytes(b"not the indexed papers")


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("adapter/onnx/model_int8.onnx", truncate),
        ("live_index/postings_weights.npy", truncate),
        ("live_index/index.faiss", index_from_another_run),
        ("live_index/papers.sqlite", overwrite),
        ("lexical/search.json", overwrite),
    ],
)
def test_a_damaged_artifact_stops_the_server_naming_it(models_dir: Path, tmp_path: Path, name: str, damage) -> None:
    broken = tmp_path / "models"
    shutil.copytree(models_dir, broken, ignore=shutil.ignore_patterns("encoder"))
    damage(broken / name)
    with pytest.raises(BundleError, match="does not match the manifest"):
        load_bundle(broken)
    proc = subprocess.run(
        [sys.executable, "-m", "serve"],
        env={"ARXIV_EMBED_MODELS_DIR": str(broken), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and not proc.stdout
    assert proc.stderr.splitlines() == [
        f"error: cannot serve: {broken / name} does not match the manifest's hash: artifacts are from different runs"
    ]


def test_missing_manifest_names_the_fix(models_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "models"
    shutil.copytree(models_dir, broken, ignore=shutil.ignore_patterns("encoder", "manifest.json"))
    with pytest.raises(BundleError, match="dvc repro"):
        load_bundle(broken)


def test_real_server_process_over_http(models_dir: Path, test_papers: pd.DataFrame) -> None:
    """The container's command, `python -m serve`, answering on loopback."""
    port = free_port()
    env = {"ARXIV_EMBED_MODELS_DIR": str(models_dir), "HOST": "127.0.0.1", "PORT": str(port), "PATH": ""}
    proc = subprocess.Popen([sys.executable, "-m", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", 60, lambda: None if proc.poll() is None else "server exited")
        paper = test_papers.iloc[1]
        hits = httpx.post(f"{base}/search", json={"text": paper["abstract"], "k": 3}, timeout=30).json()["results"]
        assert hits[0]["id"] == paper["id"]
        cls = httpx.post(f"{base}/classify", json={"abstract": paper["abstract"]}, timeout=30).json()
        assert len(cls["categories"]) == 5
        assert httpx.get(f"{base}/ready", timeout=5).json()["status"] == "ready"
        assert json.loads(httpx.post(f"{base}/search", content=b"[", timeout=5).text)["detail"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_sigterm_drains_requests_in_flight(models_dir: Path, test_papers: pd.DataFrame) -> None:
    """SIGTERM (docker stop) lets requests already being answered finish; then the process exits cleanly."""
    proc, url = start_server(["-m", "serve"], models_dir, {"ARXIV_EMBED_THREADS": "1"})  # slower: time to act
    texts = (test_papers["abstract"].tolist() * 8)[: settings.max_batch]

    def embed() -> int:
        return httpx.post(f"{url}/embed", json={"texts": texts}, timeout=120).status_code

    try:
        with ThreadPoolExecutor(4) as pool:
            pending = [pool.submit(embed) for _ in range(4)]
            encoding = 4 * len(texts)  # all four are in the encoder, which answers one batch at a time
            wait_until(lambda: metric(url, TEXTS_ENCODED) >= encoding, 60, "four requests")
            assert sum(not f.done() for f in pending) >= 2
            proc.send_signal(signal.SIGTERM)
            assert [f.result() for f in pending] == [200] * 4
        # uvicorn re-raises the signal once shut down, so a drained server still reports SIGTERM
        assert proc.wait(timeout=30) == -signal.SIGTERM
        assert "Finished server process" in proc.stderr.read().decode()
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/health", timeout=2)
    finally:
        proc.kill()


def test_limits_are_those_of_the_settings_the_app_is_built_with(models_dir: Path) -> None:
    with TestClient(create_app(cfg=Settings(models_dir=str(models_dir), max_k=5))) as small:
        assert small.post("/search", json={"text": "graphs", "k": 5}).status_code == 200
        assert small.post("/search", json={"text": "graphs", "k": 6}).status_code == 422
        schema = small.get("/openapi.json").json()["components"]["schemas"]
        assert schema["SearchByText"]["properties"]["k"]["maximum"] == 5
