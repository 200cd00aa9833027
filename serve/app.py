"""FastAPI app: embed, classify and search arXiv papers with the pipeline's served bundle.

`create_app(bundle)` serves an already-loaded bundle (what `python -m serve` does after checking it);
`app` loads the bundle in its lifespan, for `uvicorn serve.app:app` and in-process tests. Request limits, the
requests in flight (429 beyond them) and the optional API key come from the `Settings` the app is built with.
The routes live in serve/routers by concern (ops, model, data, recommend, libraries, openai) and only translate
HTTP to the engine (`arxiv_embed/engine/`) or the saved libraries and back; blocking work runs in worker threads,
so the event loop only parses and answers.

On SIGHUP the server loads and verifies the bundle in `models_dir` again beside the one it serves, then swaps it
in: each request holds the bundle it started with to its end, and a bundle that fails verification is refused
with one log line while the old one keeps serving.
"""

import asyncio
import logging
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from threadpoolctl import threadpool_limits

import arxiv_embed
from arxiv_embed.bundle import Bundle
from arxiv_embed.errors import UnanswerableQuery, UnknownPaper
from arxiv_embed.recommend.saved import LibraryNotFound, VersionConflict
from serve.auth import UNAUTHORIZED, api_key_dependencies
from serve.feed import HideFeedTokens
from serve.limits import BodySizeLimit, InFlightLimit
from serve.request_metrics import RequestMetrics
from serve.routers import RouteContext
from serve.routers.data import data_router
from serve.routers.libraries import library_router
from serve.routers.model import model_router
from serve.routers.openai import openai_router
from serve.routers.ops import ops_router
from serve.routers.recommend import recommend_router
from serve.schemas import ErrorDetail, request_models
from serve.settings import Settings, settings
from serve.state import ServerState, load_served
from serve.validation import answer_validation_errors

log = logging.getLogger(__name__)
BUSY = {
    429: {"model": ErrorDetail, "description": "over ARXIV_EMBED_MAX_IN_FLIGHT requests in flight: see Retry-After"}
}
# the engine's and the saved libraries' refusals, as HTTP says them
REFUSALS = {UnknownPaper: 404, UnanswerableQuery: 422, LibraryNotFound: 404, VersionConflict: 412}
BODY_ERRORS = {
    400: {"model": ErrorDetail, "description": "a body that cannot be parsed at all (not UTF-8)"},
    413: {"model": ErrorDetail, "description": "request body over ARXIV_EMBED_MAX_BODY_BYTES"},
    **BUSY,
}


def watch_sighup(server: ServerState) -> None:
    """Reload on SIGHUP (`kill -HUP`, `docker kill -s HUP`); only the main thread's loop can take signals."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(server.reload()))
    except (NotImplementedError, RuntimeError, ValueError):
        log.info("SIGHUP reload is off: the app does not run in the main thread")


def answer_refusals(app: FastAPI) -> None:
    """A question the engine or the saved libraries refuse is answered with its status and the reason as
    `detail`."""
    for error, status in REFUSALS.items():

        async def refuse(request: Request, err: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(err)}, status_code=status)

        app.add_exception_handler(error, refuse)


def path_pattern(template: str) -> re.Pattern:
    """An OpenAPI path template (`/libraries/{library_id}`) as the paths it stands for."""
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)))


def answer_method_not_allowed(app: FastAPI) -> None:
    """A 405's `Allow` names every method of the path: Starlette names only those of the first route it matched,
    and /libraries/{id} has one route per method."""

    async def not_allowed(request: Request, err: HTTPException) -> JSONResponse:
        paths = app.openapi()["paths"]
        allowed = {m.upper() for t, item in paths.items() if path_pattern(t).fullmatch(request.url.path) for m in item}
        headers = {"Allow": ", ".join(sorted(allowed))} if allowed else err.headers
        return JSONResponse({"detail": err.detail}, status_code=405, headers=headers)

    app.add_exception_handler(405, not_allowed)


def create_app(bundle: Bundle | None = None, cfg: Settings = settings) -> FastAPI:
    """Build the app; without a bundle, the lifespan loads (and verifies) one from `cfg.models_dir`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        threadpool_limits(cfg.blas_threads, user_api="blas")  # process-wide, for as long as the server runs
        app.state.server = ServerState(bundle or load_served(cfg), cfg)
        app.state.server.current.start()
        watch_sighup(app.state.server)
        yield
        await app.state.server.current.stop()

    app = FastAPI(
        title="arxiv-embed",
        summary="Embed, classify and find similar arXiv papers (ONNX encoder + FAISS index).",
        version=arxiv_embed.__version__,
        lifespan=lifespan,
    )
    access_log = logging.getLogger("uvicorn.access")  # `uvicorn serve.app:app` logs each request's path
    if not any(isinstance(f, HideFeedTokens) for f in access_log.filters):
        access_log.addFilter(HideFeedTokens())
    app.add_middleware(BodySizeLimit, max_bytes=cfg.max_body_bytes)
    app.add_middleware(InFlightLimit, max_in_flight=cfg.max_in_flight, retry_after_s=cfg.retry_after_s)
    app.add_middleware(RequestMetrics)  # outermost: it also counts the 413s and 429s of the limits
    protected = api_key_dependencies(cfg.api_key)
    ctx = RouteContext(
        cfg=cfg,
        requests=request_models(cfg, bundle.manifest.dim if bundle else None),
        protected=protected,
        guarded={**BODY_ERRORS, **(UNAUTHORIZED if protected else {})},
    )
    answer_refusals(app)
    answer_method_not_allowed(app)
    answer_validation_errors(app, vars(ctx.requests).values())
    app.include_router(ops_router())
    routers = (model_router(ctx), data_router(ctx), recommend_router(ctx), library_router(ctx), openai_router(ctx))
    for router in routers:
        app.include_router(router)
    return app


app = create_app()
