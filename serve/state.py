"""What a running server holds: the engine serving the current bundle, its reload on SIGHUP and the old engine's
retirement, and the collectors.

Endpoints get both through FastAPI dependencies (`State`, `CurrentEngine`), so that a request keeps the engine it
started with to its end even when a reload swaps another in meanwhile.
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

from arxiv_embed.bundle import Bundle, LoadOptions, load_bundle
from arxiv_embed.engine.engine import Engine, EngineSettings
from arxiv_embed.recommend.library import LibraryLimits
from arxiv_embed.recommend.saved import SavedLibraries
from serve.metrics import ServerMetrics
from serve.settings import Settings

log = logging.getLogger(__name__)


def load_served(cfg: Settings) -> Bundle:
    """The bundle in `cfg.models_dir`, loaded and verified as `cfg` runs it: the server's one way in (at start, in
    the app's lifespan and on SIGHUP)."""
    return load_bundle(
        cfg.models_dir, LoadOptions(cfg.onnx_variant, cfg.threads, cfg.max_tokens, cfg.spinning, cfg.runtime)
    )


def engine_settings(cfg: Settings) -> EngineSettings:
    library = LibraryLimits(cfg.max_library_entries, cfg.max_library_texts)
    return EngineSettings(cfg.max_tokens, cfg.batch_wait_ms, cfg.search_threads, library)


class ServerState:
    """What the endpoints share: the engine being served (swapped on SIGHUP), the saved libraries (kept across
    swaps: they live in `cfg.data_dir`, not in the bundle) and the Prometheus collectors."""

    def __init__(self, bundle: Bundle, cfg: Settings) -> None:
        self.cfg = cfg
        self.reload_lock = asyncio.Lock()
        self.metrics = ServerMetrics()
        self.current = Engine(bundle, engine_settings(cfg), self.metrics)
        self.libraries = SavedLibraries(Path(cfg.data_dir)) if cfg.data_dir else None

    async def reload(self) -> bool:
        """Load and verify the bundle in `models_dir` beside the served one, then swap it in; False if refused."""
        async with self.reload_lock:
            old = self.current
            try:
                bundle = await run_in_threadpool(load_served, self.cfg)
            except Exception as err:  # noqa: BLE001 - any broken bundle is refused; the old one keeps serving
                log.error("reload refused, still serving bundle %s: %s", old.version, err)
                self.metrics.reload("refused")
                return False
            new = Engine(bundle, engine_settings(self.cfg), self.metrics)
            new.start()
            self.current = new
            self.metrics.reload("swapped")
            m = bundle.manifest
            log.info(
                "now serving bundle %s (%d papers, newest %s), was %s",
                new.version,
                m.corpus_size,
                m.newest_datestamp,
                old.version,
            )
        await old.retire()
        return True


def get_state(request: Request) -> ServerState:
    return request.app.state.server


async def get_engine(request: Request) -> AsyncIterator[Engine]:
    """The engine a request uses from start to end, even if a reload swaps another in meanwhile."""
    engine = request.app.state.server.current
    engine.in_flight += 1
    try:
        yield engine
    finally:
        engine.in_flight -= 1


def get_libraries(request: Request) -> SavedLibraries:
    """The saved libraries; 503 naming the setting on a server started without a data folder."""
    libraries = request.app.state.server.libraries
    if libraries is None:
        raise HTTPException(503, "saved libraries are off on this server: start it with ARXIV_EMBED_DATA_DIR set")
    return libraries


State = Annotated[ServerState, Depends(get_state)]
Libraries = Annotated[SavedLibraries, Depends(get_libraries)]
CurrentEngine = Annotated[Engine, Depends(get_engine)]
