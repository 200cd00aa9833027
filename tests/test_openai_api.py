"""OpenAI's embeddings API on the real server process, driven by the official `openai` client."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import numpy as np
import openai
import pandas as pd
import pytest
from tokenizers import Tokenizer

from arxiv_embed.data.text import build_texts
from tools.processes import start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(pipeline_repo: Path):
    proc, url = start_server(["-m", "serve"], pipeline_repo / "models/bundle", {})
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_the_openai_client_gets_the_vectors_of_embed(
    server: str, pipeline_repo: Path, test_papers: pd.DataFrame
) -> None:
    texts = build_texts(test_papers["title"], test_papers["abstract"], "title_abstract")[:5]
    expected = np.array(httpx.post(f"{server}/embed", json={"texts": texts}, timeout=60).json()["vectors"])
    client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["arxiv-embed"]
    default = client.embeddings.create(input=texts, model="arxiv-embed")  # the client asks for base64
    dim = len(expected[0])
    floats = client.embeddings.create(input=texts, model="arxiv-embed", encoding_format="float", dimensions=dim)
    for answer in (default, floats):
        assert [d.index for d in answer.data] == list(range(len(texts))) and answer.model == "arxiv-embed"
        np.testing.assert_allclose(np.array([d.embedding for d in answer.data]), expected, rtol=0, atol=1e-7)
    one = client.embeddings.create(input=texts[0], model="arxiv-embed")  # int8 scales depend on the batch: alone
    alone = httpx.post(f"{server}/embed", json={"texts": texts[:1]}, timeout=60).json()["vectors"][0]
    np.testing.assert_allclose(one.data[0].embedding, alone, rtol=0, atol=1e-7)

    tokenizer = Tokenizer.from_file(str(pipeline_repo / "models/bundle/adapter/onnx/tokenizer.json"))
    tokenizer.enable_truncation(max_length=64)  # the tiny run's max_seq_length
    counted = sum(len(e.ids) for e in tokenizer.encode_batch(texts))
    assert default.usage.prompt_tokens == default.usage.total_tokens == counted


def test_raw_base64_is_float32_little_endian(server: str) -> None:
    body = {"input": ["graph neural networks"], "model": "arxiv-embed", "encoding_format": "base64"}
    raw = httpx.post(f"{server}/v1/embeddings", json=body, timeout=30).json()
    vector = np.frombuffer(base64.b64decode(raw["data"][0]["embedding"]), dtype="<f4")
    plain = httpx.post(f"{server}/embed", json={"texts": body["input"]}, timeout=30).json()["vectors"][0]
    assert raw["object"] == "list" and raw["data"][0]["object"] == "embedding"
    np.testing.assert_array_equal(vector, np.array(plain, dtype=np.float32))


@pytest.mark.parametrize(
    "body, status, reason",
    [
        ({"input": "x", "model": "arxiv-embed", "dimensions": 7}, 400, "dimensions=7 cannot be served"),
        ({"input": "x", "model": "text-embedding-3-small"}, 404, "serves 'arxiv-embed'"),
        ({"input": [], "model": "arxiv-embed"}, 422, "input"),
        ({"input": [[101, 2023]], "model": "arxiv-embed"}, 422, "input"),  # token arrays are not taken
        ({"input": "x", "model": "arxiv-embed", "encoding_format": "int8"}, 422, "encoding_format"),
    ],
)
def test_bad_requests_are_4xx_with_a_reason(server: str, body: dict, status: int, reason: str) -> None:
    answer = httpx.post(f"{server}/v1/embeddings", json=body, timeout=30)
    assert answer.status_code == status and reason in answer.text, answer.text
    if status != 422:
        client = openai.OpenAI(base_url=f"{server}/v1", api_key="unused", max_retries=0)
        error = openai.BadRequestError if status == 400 else openai.NotFoundError
        with pytest.raises(error):
            client.embeddings.create(**body)
