"""FastAPI app: embed, classify and search arXiv papers with the pipeline's served bundle.

`create_app(bundle)` serves an already-loaded bundle (what `python -m serve` does after checking it);
`app` loads the bundle in its lifespan, for `uvicorn serve.app:app` and in-process tests. Request limits, the
requests in flight (429 beyond them) and the optional API key come from the `Settings` the app is built with;
`/v1` speaks OpenAI's embeddings API (serve/openai_api.py). Work that blocks (encoding, TF-IDF scoring, index
search, SQLite look-ups) runs in worker threads, so the event loop only parses, dispatches and answers.

On SIGHUP the server loads and verifies the bundle in `models_dir` again beside the one it serves, then swaps it
in: each request holds the bundle it started with to its end, and a bundle that fails verification is refused
with one log line while the old one keeps serving.
"""

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Annotated

import numpy as np
from fastapi import APIRouter, FastAPI, HTTPException, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

import arxiv_embed
from arxiv_embed.bundle import Bundle, load_bundle
from arxiv_embed.data.text import build_text
from arxiv_embed.search.modes import SEARCH_MODES
from serve.auth import UNAUTHORIZED, api_key_dependencies
from serve.limits import BodySizeLimit, InFlightLimit
from serve.openai_api import openai_router
from serve.request_metrics import RequestMetrics
from serve.schemas import (
    CategoryScore,
    ClassifyResponse,
    EmbedResponse,
    ErrorDetail,
    Health,
    Paper,
    Ready,
    SearchResponse,
    request_models,
)
from serve.settings import Settings, settings
from serve.state import Current, Served, ServerState, State

log = logging.getLogger(__name__)
BUSY = {
    429: {"model": ErrorDetail, "description": "over ARXIV_EMBED_MAX_IN_FLIGHT requests in flight: see Retry-After"}
}
BODY_ERRORS = {
    400: {"model": ErrorDetail, "description": "a body that cannot be parsed at all (not UTF-8)"},
    413: {"model": ErrorDetail, "description": "request body over ARXIV_EMBED_MAX_BODY_BYTES"},
    **BUSY,
}
UNKNOWN_ID = {404: {"model": ErrorDetail, "description": "no paper with that id in the index"}}


def watch_sighup(server: ServerState) -> None:
    """Reload on SIGHUP (`kill -HUP`, `docker kill -s HUP`); only the main thread's loop can take signals."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(server.reload()))
    except (NotImplementedError, RuntimeError, ValueError):
        log.info("SIGHUP reload is off: the app does not run in the main thread")


def create_app(bundle: Bundle | None = None, cfg: Settings = settings) -> FastAPI:
    """Build the app; without a bundle, the lifespan loads (and verifies) one from `cfg.models_dir`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = bundle or load_bundle(cfg.models_dir, cfg.onnx_variant, cfg.threads, cfg.max_tokens)
        app.state.server = ServerState(loaded, cfg)
        app.state.server.current.batcher.start()
        watch_sighup(app.state.server)
        yield
        await app.state.server.current.batcher.stop()

    app = FastAPI(
        title="arxiv-embed",
        summary="Embed, classify and find similar arXiv papers (ONNX encoder + FAISS index).",
        version=arxiv_embed.__version__,
        lifespan=lifespan,
    )
    requests = request_models(cfg, bundle.manifest["dim"] if bundle else None)
    app.add_middleware(BodySizeLimit, max_bytes=cfg.max_body_bytes)
    app.add_middleware(InFlightLimit, max_in_flight=cfg.max_in_flight, retry_after_s=cfg.retry_after_s)
    app.add_middleware(RequestMetrics)  # outermost: it also counts the 413s and 429s of the limits
    page = files("serve").joinpath("static/index.html").read_text()
    protected = api_key_dependencies(cfg.api_key)
    guarded = {**BODY_ERRORS, **(UNAUTHORIZED if protected else {})}
    model = APIRouter(tags=["model"], dependencies=protected)
    data = APIRouter(tags=["data"], dependencies=protected)

    async def encode(state: ServerState, served: Served, texts: list[str]) -> np.ndarray:
        return (await state.encode(served, texts))[0]

    @app.get("/health", response_model=Health, tags=["ops"])
    async def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get("/ready", response_model=Ready, tags=["ops"])
    async def ready(served: Current) -> Ready:
        """Readiness: the verified bundle is loaded; which version, model, encoder and index it serves, the run
        that built it, its test metrics and, when fetched from the registry, its registered version and stage."""
        m = served.bundle.manifest
        return Ready(
            status="ready",
            bundle_version=m["version"],
            model_name=m["model_name"],
            onnx_variant=served.bundle.encoder.variant,
            index_type=m["index_type"],
            index_size=m["index_size"],
            corpus_size=m["corpus_size"],
            newest_paper_date=m["newest_datestamp"],
            harvest_shards=m["harvest"]["shards"],
            dim=m["dim"],
            text_field=m["text_field"],
            search_mode=served.bundle.searcher.default_mode,
            provenance=m.get("provenance"),
            metrics=m.get("metrics"),
            release=served.bundle.release,
            artifact_hashes={name: digest[:12] for name, digest in m["files"].items()},
        )

    @model.post("/embed", response_model=EmbedResponse, responses=guarded)
    async def embed(body: requests.embed, state: State, served: Current) -> EmbedResponse:
        """L2-normalised embeddings of a batch of texts, identical to the pipeline's."""
        vectors = await encode(state, served, body.texts)
        return EmbedResponse(dim=vectors.shape[1], vectors=vectors.tolist())

    @model.post("/classify", response_model=ClassifyResponse, responses=guarded)
    async def classify(body: requests.classify, state: State, served: Current) -> ClassifyResponse:
        """Top-k primary categories with probabilities for a title and/or abstract."""
        field = served.bundle.manifest["text_field"]
        text = build_text(body.title or "", body.abstract or "", field)
        if not text:
            raise HTTPException(422, f"this model reads the {field.replace('_', ' and ')}: send that field")
        vector = await encode(state, served, [text])
        probs = (await run_in_threadpool(served.bundle.classifier.predict_proba, vector, [text]))[0]  # TF-IDF
        top = np.argsort(-probs)[: body.k]
        classes = served.bundle.classifier.classes
        return ClassifyResponse(
            categories=[CategoryScore(category=str(classes[i]), probability=round(float(probs[i]), 6)) for i in top]
        )

    @model.post("/search", response_model=SearchResponse, responses={**guarded, **UNKNOWN_ID})
    async def search(body: requests.search, state: State, served: Current) -> SearchResponse:
        """The k nearest papers to free text (dense, lexical or hybrid search), or to a paper of the index given
        by its arXiv id (dense: its stored vector)."""
        by_id = isinstance(body, requests.search_by_id)
        if by_id:
            mode, text = "dense", ""
            query = await run_in_threadpool(served.stored_vector, body.id)
            if query is None:
                raise HTTPException(404, f"unknown paper id {body.id!r}")
        else:
            mode, text = body.mode or served.bundle.searcher.default_mode, body.text
            query = await encode(state, served, [text]) if SEARCH_MODES[mode].encodes else None
        # faiss and numpy release the GIL: searching in a worker thread lets concurrent requests encode meanwhile
        scores, positions = await run_in_threadpool(served.search, mode, query, text, body.k + 1)
        hits = await run_in_threadpool(served.hits, scores[0], positions[0], body.id if by_id else None)
        return SearchResponse(mode=mode, results=hits[: body.k])

    @data.get("/papers/{paper_id:path}", response_model=Paper, responses={**guarded, **UNKNOWN_ID})
    async def paper(paper_id: Annotated[str, Path(max_length=64)], served: Current) -> Paper:
        """The stored metadata of one indexed paper."""
        found = await run_in_threadpool(served.paper, paper_id)
        if found is None:
            raise HTTPException(404, f"unknown paper id {paper_id!r}")
        return found

    app.include_router(model)
    app.include_router(data)
    app.include_router(openai_router(cfg, requests, protected, guarded))

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics(state: State) -> Response:
        """Prometheus request counters and latency histograms."""
        return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index_page() -> str:
        return page

    return app


app = create_app()
