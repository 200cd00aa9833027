"""What a server facing users needs: an optional API key, and 429 instead of an unbounded queue under a flood."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from arxiv_embed.machine import memory_mb
from tools.processes import start_server

pytestmark = pytest.mark.e2e
KEY = "k3y-that-must-never-be-logged"
FLOOD_ROUNDS, FLOOD_REQUESTS, MAX_IN_FLIGHT = 6, 200, 4
MAX_RSS_GROWTH_MB = 20  # from the end of the second flood to the end of the last


def test_api_key_guards_every_route_but_the_probes(pipeline_repo: Path) -> None:
    proc, url = start_server(["-m", "serve"], pipeline_repo / "models/bundle", {"ARXIV_EMBED_API_KEY": KEY})
    try:
        body = {"texts": ["graph neural networks"]}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
            refused = httpx.post(f"{url}/embed", json=body, headers=headers, timeout=30)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer", refused.text
            assert "API key" in refused.json()["detail"] and KEY not in refused.text
        good = {"Authorization": f"Bearer {KEY}"}
        assert httpx.post(f"{url}/embed", json=body, headers=good, timeout=30).status_code == 200
        openai_body = {"input": "x", "model": "arxiv-embed"}
        assert httpx.post(f"{url}/v1/embeddings", json=openai_body, timeout=30).status_code == 401
        assert httpx.post(f"{url}/v1/embeddings", json=openai_body, headers=good, timeout=30).status_code == 200
        assert httpx.get(f"{url}/papers/0704.0001", timeout=30).status_code == 401
        for probe in ("/health", "/ready", "/metrics"):
            assert httpx.get(f"{url}{probe}", timeout=30).status_code == 200, probe
        schemes = httpx.get(f"{url}/openapi.json", timeout=30).json()["components"]["securitySchemes"]
        assert schemes["HTTPBearer"]["scheme"] == "bearer"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert KEY not in proc.stderr.read().decode()


async def flood(url: str, texts: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=FLOOD_REQUESTS, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=120) as http:
        sends = [http.post(f"{url}/embed", json={"texts": texts}) for _ in range(FLOOD_REQUESTS)]
        return await asyncio.gather(*sends)


def test_a_flood_gets_200_or_429_at_once_and_memory_stays_flat(pipeline_repo: Path) -> None:
    env = {"ARXIV_EMBED_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT), "ARXIV_EMBED_THREADS": "1"}
    proc, url = start_server(["-m", "serve"], pipeline_repo / "models/bundle", env)
    texts = ["contrastive fine-tuning of sentence encoders on arXiv abstracts " * 6] * 8
    try:
        rss, statuses = [], set()
        for _ in range(FLOOD_ROUNDS):
            answers = asyncio.run(flood(url, texts))
            statuses |= {a.status_code for a in answers}
            busy = [a for a in answers if a.status_code == 429]
            assert busy and all(a.headers["retry-after"] == "1" and "in flight" in a.text for a in busy)
            assert any(a.status_code == 200 for a in answers)
            rss.append(memory_mb(proc.pid)["VmRSS"])
        assert statuses == {200, 429}, statuses
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        assert httpx.post(f"{url}/embed", json={"texts": texts}, timeout=60).status_code == 200  # recovered
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert 'status="429"' in metrics
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print({"rss_mb": [round(r, 1) for r in rss]})
    assert rss[-1] - rss[1] <= MAX_RSS_GROWTH_MB, rss
