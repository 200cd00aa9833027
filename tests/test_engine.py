"""The engine without HTTP: a benchmark or an evaluation asks it what the server's routes ask, and gets the same."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from arxiv_embed.bundle import load_bundle
from arxiv_embed.engine.engine import Engine, EngineSettings
from arxiv_embed.errors import UnanswerableQuery, UnknownPaper
from arxiv_embed.recommend.library import LibraryQuery
from serve.app import create_app
from serve.settings import Settings

pytestmark = pytest.mark.e2e


def ask(models: Path, question):
    """Run `question(engine)` on a fresh engine over the bundle in `models`, as a script would."""

    async def run():
        engine = Engine(load_bundle(models), EngineSettings())
        engine.start()
        try:
            return await question(engine)
        finally:
            await engine.stop()

    return asyncio.run(run())


def test_the_engine_answers_what_the_routes_answer(pipeline_repo: Path, test_papers: pd.DataFrame) -> None:
    models = pipeline_repo / "models/bundle"
    paper = test_papers.iloc[2]
    liked = test_papers["id"].tolist()[:2]

    async def questions(engine: Engine) -> list:
        return [
            await engine.search_text(paper["abstract"], 4),
            await engine.search_paper(paper["id"], 4),
            await engine.classify(paper["title"], paper["abstract"], 3),
            await engine.recommend(LibraryQuery(like=liked, k=4)),
            await engine.paper(paper["id"]),
        ]

    direct = [dataclasses.asdict(answer) for answer in ask(models, questions)]
    with TestClient(create_app(cfg=Settings(models_dir=str(models)))) as client:
        over_http = [
            client.post("/search", json={"text": paper["abstract"], "k": 4}).json(),
            client.post("/search", json={"id": paper["id"], "k": 4}).json(),
            client.post("/classify", json={"title": paper["title"], "abstract": paper["abstract"], "k": 3}).json(),
            client.post("/recommend", json={"like": liked, "k": 4}).json(),
            client.get(f"/papers/{paper['id']}").json(),
        ]
    assert direct == over_http
    assert direct[0]["results"][0]["id"] == paper["id"]


def test_the_engine_refuses_with_its_own_errors(pipeline_repo: Path) -> None:
    models = pipeline_repo / "models/bundle"
    with pytest.raises(UnknownPaper, match="unknown paper id '0000.00000'"):
        ask(models, lambda engine: engine.paper("0000.00000"))
    with pytest.raises(UnknownPaper, match="not in the index: 0000.00000"):
        ask(models, lambda engine: engine.recommend(LibraryQuery(like=["0000.00000"])))
    with pytest.raises(UnanswerableQuery, match="no title"):
        ask(models, lambda engine: engine.recommend(LibraryQuery(bibtex="@misc{todo, author={A. Reader}}")))
