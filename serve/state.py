"""What a running server holds: the bundle it serves (swapped on SIGHUP), its micro-batcher and its collectors.

Endpoints get both through FastAPI dependencies (`State`, `Current`), so that a request keeps the bundle it
started with to its end even when a reload swaps another in meanwhile.
"""

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

import faiss
import numpy as np
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CollectorRegistry, Counter, Histogram

from arxiv_embed.bundle import Bundle, LoadOptions, load_bundle
from arxiv_embed.recommend.index_pool import IndexPool
from arxiv_embed.recommend.methods import Examples
from serve.batcher import BatchTimes, MicroBatcher
from serve.schemas import Paper, SearchHit
from serve.settings import Settings

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WAIT_BUCKETS = (0.001, 0.0025, *LATENCY_BUCKETS)
BATCH_TEXT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)
T = TypeVar("T")


def load_served(cfg: Settings) -> Bundle:
    """The bundle in `cfg.models_dir`, loaded and verified as `cfg` runs it: the server's one way in (at start, in
    the app's lifespan and on SIGHUP)."""
    return load_bundle(cfg.models_dir, LoadOptions(cfg.onnx_variant, cfg.threads, cfg.max_tokens))


class Served:
    """One loaded bundle with its own micro-batcher, and how many requests are using it."""

    def __init__(self, bundle: Bundle, cfg: Settings, on_batch: Callable[[BatchTimes], None]) -> None:
        self.bundle = bundle
        self.search_threads = cfg.search_threads
        self.batcher = MicroBatcher(bundle.encoder, cfg.max_tokens, cfg.batch_wait_ms, on_batch)
        self.in_flight = 0
        self.loaded_at = int(time.time())  # the `created` of /v1/models

    @property
    def version(self) -> str:
        return self.bundle.manifest.version

    async def retire(self) -> None:
        """Stop the batcher once the requests that started on this bundle have finished."""
        while self.in_flight:
            await asyncio.sleep(0.05)
        await self.batcher.stop()

    def in_search_thread(self, work: Callable[[], T]) -> T:
        """Run `work` on the calling (worker) thread with faiss's threads set: OpenMP's count is per thread."""
        faiss.omp_set_num_threads(self.search_threads)
        return work()

    def search(self, mode: str, queries: np.ndarray | None, text: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Search in `mode` on the calling (worker) thread."""
        return self.in_search_thread(lambda: self.bundle.searcher.run(mode, queries, [text], k))

    @functools.cache  # noqa: B019 - one per bundle, and a bundle's Served lives as long as it is served
    def background(self) -> Examples:
        """The corpus sample that per-reader linear models learn against, drawn once per bundle."""
        spec, pool = self.bundle.recommend, IndexPool(self.bundle.index, self.bundle.searcher.lexical)
        return pool.background(spec.negatives, spec.seed)

    def stored_vector(self, paper_id: str) -> np.ndarray | None:
        """The indexed vector of a paper, as a (1, dim) query; None for an unknown id."""
        position = self.bundle.papers.position(paper_id)
        return None if position is None else self.bundle.index.vector(position)[None, :]

    def hits(self, scores: np.ndarray, positions: np.ndarray, skip_id: str | None) -> list[SearchHit]:
        """Search results labelled from the paper store, best first, without the query paper itself."""
        found = [(float(s), int(p)) for s, p in zip(scores, positions, strict=True) if p >= 0]
        rows = self.bundle.papers.rows([p for _, p in found])
        kept = [(score, row) for (score, _), row in zip(found, rows, strict=True) if row.id != skip_id]
        return [
            SearchHit(
                id=row.id, title=row.title, category=row.category, date=row.date, score=round(score, 6), rank=rank
            )
            for rank, (score, row) in enumerate(kept, start=1)
        ]

    def paper(self, paper_id: str) -> Paper | None:
        position = self.bundle.papers.position(paper_id)
        if position is None:
            return None
        (row,) = self.bundle.papers.rows([position])
        return Paper(id=row.id, title=row.title, category=row.category, date=row.date)


class ServerState:
    """What the endpoints share: the bundle being served (swapped on SIGHUP) and the Prometheus collectors."""

    def __init__(self, bundle: Bundle, cfg: Settings) -> None:
        self.cfg = cfg
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
        self.queue_wait = Histogram(
            "arxiv_embed_encode_queue_seconds",
            "a request's wait, its texts tokenized, until its micro-batch starts encoding",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.compute = Histogram(
            "arxiv_embed_encode_seconds",
            "onnxruntime's run on one micro-batch",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.batch_texts = Histogram(
            "arxiv_embed_batch_texts", "texts in one micro-batch", buckets=BATCH_TEXT_BUCKETS, registry=self.registry
        )
        self.current = Served(bundle, cfg, self.observe_batch)

    def observe_batch(self, times: BatchTimes) -> None:
        """Where a micro-batch's callers spent their time: waiting in the queue, or in the graph."""
        for wait in times.waits:
            self.queue_wait.observe(wait)
        self.compute.observe(times.compute)
        self.batch_texts.observe(times.texts)

    async def encode(self, served: Served, texts: list[str]) -> tuple[np.ndarray, int]:
        """The texts' vectors, and how many tokens the encoder read for them."""
        self.encoded.inc(len(texts))
        return await served.batcher.embed(texts)

    async def reload(self) -> bool:
        """Load and verify the bundle in `models_dir` beside the served one, then swap it in; False if refused."""
        async with self.reload_lock:
            old = self.current
            try:
                bundle = await run_in_threadpool(load_served, self.cfg)
            except Exception as err:  # noqa: BLE001 - any broken bundle is refused; the old one keeps serving
                log.error("reload refused, still serving bundle %s: %s", old.version, err)
                self.reloads.labels("refused").inc()
                return False
            new = Served(bundle, self.cfg, self.observe_batch)
            new.batcher.start()
            self.current = new
            self.reloads.labels("swapped").inc()
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
