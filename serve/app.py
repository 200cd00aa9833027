"""FastAPI app: embed, classify and search arXiv papers with the pipeline's served bundle.

`create_app(bundle)` serves an already-loaded bundle (what `python -m serve` does after checking it);
`app` loads the bundle in its lifespan, for `uvicorn serve.app:app` and in-process tests. Request limits come
from the `Settings` the app is built with. Work that blocks (encoding, TF-IDF scoring, index search, SQLite
look-ups) runs in worker threads, so the event loop only parses, dispatches and answers.

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

import faiss
import numpy as np
from fastapi import Depends, FastAPI, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

import arxiv_embed
from arxiv_embed.bundle import Bundle, load_bundle
from arxiv_embed.data.text import build_text
from arxiv_embed.search.modes import SEARCH_MODES
from serve.batcher import MicroBatcher
from serve.limits import BodySizeLimit
from serve.request_metrics import RequestMetrics
from serve.schemas import (
    CategoryScore,
    ClassifyResponse,
    EmbedResponse,
    ErrorDetail,
    Health,
    Paper,
    Ready,
    SearchHit,
    SearchResponse,
    request_models,
)
from serve.settings import Settings, settings

log = logging.getLogger(__name__)
BODY_ERRORS = {
    400: {"model": ErrorDetail, "description": "a body that cannot be parsed at all (not UTF-8)"},
    413: {"model": ErrorDetail, "description": "request body over ARXIV_EMBED_MAX_BODY_BYTES"},
}
UNKNOWN_ID = {404: {"model": ErrorDetail, "description": "no paper with that id in the index"}}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Served:
    """One loaded bundle with its own micro-batcher, and how many requests are using it."""

    def __init__(self, bundle: Bundle, cfg: Settings) -> None:
        self.bundle = bundle
        self.search_threads = cfg.search_threads
        self.batcher = MicroBatcher(bundle.encoder, cfg.max_tokens, cfg.batch_wait_ms)
        self.in_flight = 0

    @property
    def version(self) -> str:
        return self.bundle.manifest["version"]

    async def retire(self) -> None:
        """Stop the batcher once the requests that started on this bundle have finished."""
        while self.in_flight:
            await asyncio.sleep(0.05)
        await self.batcher.stop()

    def search(self, mode: str, queries: np.ndarray | None, text: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Search in `mode` on the calling (worker) thread; OpenMP's thread count is per thread, so it is set here."""
        faiss.omp_set_num_threads(self.search_threads)
        return self.bundle.searcher.run(mode, queries, [text], k)

    def stored_vector(self, paper_id: str) -> np.ndarray | None:
        """The indexed vector of a paper, as a (1, dim) query; None for an unknown id."""
        position = self.bundle.papers.position(paper_id)
        return None if position is None else self.bundle.index.vector(position)[None, :]

    def hits(self, scores: np.ndarray, positions: np.ndarray, skip_id: str | None) -> list[SearchHit]:
        """Search results labelled from the paper store, best first, without the query paper itself."""
        found = [(float(s), int(p)) for s, p in zip(scores, positions, strict=True) if p >= 0]
        rows = self.bundle.papers.rows([p for _, p in found])
        return [
            SearchHit(id=paper_id, title=title, category=category, score=round(score, 6))
            for (score, _), (paper_id, title, category) in zip(found, rows, strict=True)
            if paper_id != skip_id
        ]

    def paper(self, paper_id: str) -> Paper | None:
        position = self.bundle.papers.position(paper_id)
        if position is None:
            return None
        ((found_id, title, category),) = self.bundle.papers.rows([position])
        return Paper(id=found_id, title=title, category=category)


class ServerState:
    """What the endpoints share: the bundle being served (swapped on SIGHUP) and the Prometheus collectors."""

    def __init__(self, bundle: Bundle, cfg: Settings) -> None:
        self.cfg = cfg
        self.current = Served(bundle, cfg)
        self.reload_lock = asyncio.Lock()
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "arxiv_embed_requests_total", "HTTP requests", ["method", "path", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "arxiv_embed_request_seconds",
            "HTTP request latency",
            ["method", "path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.encoded = Counter("arxiv_embed_texts_encoded_total", "texts encoded", registry=self.registry)
        self.reloads = Counter(
            "arxiv_embed_reloads_total", "bundle reloads on SIGHUP", ["outcome"], registry=self.registry
        )

    async def reload(self) -> bool:
        """Load and verify the bundle in `models_dir` beside the served one, then swap it in; False if refused."""
        async with self.reload_lock:
            old = self.current
            try:
                bundle = await run_in_threadpool(
                    load_bundle, self.cfg.models_dir, self.cfg.onnx_variant, self.cfg.threads, self.cfg.max_tokens
                )
            except Exception as err:  # noqa: BLE001 - any broken bundle is refused; the old one keeps serving
                log.error("reload refused, still serving bundle %s: %s", old.version, err)
                self.reloads.labels("refused").inc()
                return False
            new = Served(bundle, self.cfg)
            new.batcher.start()
            self.current = new
            self.reloads.labels("swapped").inc()
            m = bundle.manifest
            log.info(
                "now serving bundle %s (%d papers, newest %s), was %s",
                new.version,
                m["corpus_size"],
                m["newest_datestamp"],
                old.version,
            )
        await old.retire()
        return True


def get_state(request: Request) -> ServerState:
    return request.app.state.server


async def get_served(request: Request) -> AsyncIterator[Served]:
    """The bundle a request uses from start to end, even if a reload swaps another in meanwhile."""
    served = request.app.state.server.current
    served.in_flight += 1
    try:
        yield served
    finally:
        served.in_flight -= 1


State = Annotated[ServerState, Depends(get_state)]
Current = Annotated[Served, Depends(get_served)]


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
    requests = request_models(cfg)
    app.add_middleware(BodySizeLimit, max_bytes=cfg.max_body_bytes)
    app.add_middleware(RequestMetrics)  # outermost: it also counts the 413s of the body limit
    page = files("serve").joinpath("static/index.html").read_text()

    async def encode(state: ServerState, served: Served, texts: list[str]) -> np.ndarray:
        state.encoded.inc(len(texts))
        return await served.batcher.embed(texts)

    @app.get("/health", response_model=Health, tags=["ops"])
    async def health() -> Health:
        """Liveness: the process answers."""
        return Health(status="ok")

    @app.get("/ready", response_model=Ready, tags=["ops"])
    async def ready(served: Current) -> Ready:
        """Readiness: the verified bundle is loaded; which version, model, encoder and index it serves."""
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
            artifact_hashes={name: digest[:12] for name, digest in m["files"].items()},
        )

    @app.post("/embed", response_model=EmbedResponse, tags=["model"], responses=BODY_ERRORS)
    async def embed(body: requests.embed, state: State, served: Current) -> EmbedResponse:
        """L2-normalised embeddings of a batch of texts, identical to the pipeline's."""
        vectors = await encode(state, served, body.texts)
        return EmbedResponse(dim=vectors.shape[1], vectors=vectors.tolist())

    @app.post("/classify", response_model=ClassifyResponse, tags=["model"], responses=BODY_ERRORS)
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

    @app.post("/search", response_model=SearchResponse, tags=["model"], responses={**BODY_ERRORS, **UNKNOWN_ID})
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

    @app.get("/papers/{paper_id:path}", response_model=Paper, tags=["data"], responses=UNKNOWN_ID)
    async def paper(paper_id: Annotated[str, Path(max_length=64)], served: Current) -> Paper:
        """The stored metadata of one indexed paper."""
        found = await run_in_threadpool(served.paper, paper_id)
        if found is None:
            raise HTTPException(404, f"unknown paper id {paper_id!r}")
        return found

    @app.get("/metrics", tags=["ops"], response_class=Response)
    async def metrics(state: State) -> Response:
        """Prometheus request counters and latency histograms."""
        return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index_page() -> str:
        return page

    return app


app = create_app()
