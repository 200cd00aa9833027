"""One loaded bundle behind every question: embed, classify, search, recommend, paper look-ups.

The engine owns the bundle and its micro-batcher and answers with the plain results of `results.py`; the server's
routes only translate HTTP to it and back, and a benchmark or an evaluation can ask it directly
(`asyncio.run(engine.search_text(...))`). Blocking work (tokenizing, the graph, FAISS, TF-IDF scoring, SQLite
look-ups) runs in worker threads, so the event loop that awaits it only schedules. A question the bundle cannot
answer raises `UnknownPaper` or `UnanswerableQuery`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

import faiss
import numpy as np
from anyio import to_thread

from arxiv_embed.bundle import Bundle
from arxiv_embed.data.text import build_text
from arxiv_embed.engine.batcher import BatchTimes, MicroBatcher
from arxiv_embed.engine.results import (
    Categories,
    CategoryScore,
    Description,
    Embedded,
    Found,
    Hit,
    Paper,
    Recommendations,
    Recommended,
)
from arxiv_embed.errors import UnanswerableQuery, UnknownPaper
from arxiv_embed.recommend.index_pool import IndexPool
from arxiv_embed.recommend.library import Library, LibraryLimits, LibraryQuery, resolve_library
from arxiv_embed.recommend.methods import Examples, Ranking, Reader, recommend
from arxiv_embed.search.modes import SEARCH_MODES
from arxiv_embed.search.papers import PaperRow

T = TypeVar("T")
# a recommendation names the liked papers it is nearest to: at most 3, within 0.05 in cosine of the nearest
NEAREST_NAMED, NEAR_MARGIN = 3, 0.05


@dataclass(frozen=True)
class EngineSettings:
    """How the engine runs its bundle: micro-batches, search threads, and the largest library it reads."""

    max_tokens: int = 512  # tokens per micro-batch and per onnxruntime call
    batch_wait_ms: float = 2.0  # how long the micro-batcher waits for concurrent callers to join a batch
    search_threads: int = 1  # faiss threads per search; concurrent questions already search in parallel
    library: LibraryLimits = LibraryLimits()  # how much of a reader's library one question may bring


class EngineObserver(Protocol):
    """What the engine reports as it works (the server's Prometheus collectors)."""

    def texts_submitted(self, count: int) -> None: ...

    def batch_encoded(self, times: BatchTimes) -> None: ...


@dataclass(frozen=True)
class Window:
    """The papers a recommendation may come from: those first announced on or after `since` (`positions`,
    sorted), or every paper when `since` is None."""

    since: dt.date | None
    positions: np.ndarray | None = None


def paper_of(row: PaperRow) -> Paper:
    return Paper(id=row.id, title=row.title, category=row.category, date=row.date)


class Engine:
    """One loaded bundle with its own micro-batcher, and how many questions are using it."""

    def __init__(self, bundle: Bundle, cfg: EngineSettings, observer: EngineObserver | None = None) -> None:
        self.bundle = bundle
        self.cfg = cfg
        self.observer = observer
        self.batcher = MicroBatcher(
            bundle.encoder, cfg.max_tokens, cfg.batch_wait_ms, observer.batch_encoded if observer else None
        )
        self.pool = IndexPool(bundle.index, bundle.searcher.lexical)  # every position; a window narrows it
        self.in_flight = 0
        self.loaded_at = int(time.time())

    # lifecycle
    def start(self) -> None:
        """Start the micro-batcher on the running event loop."""
        self.batcher.start()

    async def stop(self) -> None:
        await self.batcher.stop()

    async def retire(self) -> None:
        """Stop the batcher once the questions that started on this engine have been answered."""
        while self.in_flight:
            await asyncio.sleep(0.05)
        await self.stop()

    # what is served
    @property
    def version(self) -> str:
        return self.bundle.manifest.version

    @property
    def dim(self) -> int:
        return self.bundle.manifest.dim

    @property
    def feed_since(self) -> dt.date | None:
        """A feed's default window: every day of the last harvest, from its first record's day; None (the whole
        index: nothing is new to a server that has not followed arXiv yet) before any harvest."""
        days = self.bundle.manifest.harvest.last_days
        return dt.date.fromisoformat(days[0]) if days else None

    def describe(self) -> Description:
        b, m = self.bundle, self.bundle.manifest
        return Description(
            bundle_version=m.version,
            model_name=m.model_name,
            onnx_variant=b.encoder.variant,
            encoder_runtime=b.encoder.runtime,
            runtime_choice=b.runtime,
            index_type=m.index_type,
            index_size=m.index_size,
            corpus_size=m.corpus_size,
            newest_paper_date=m.newest_datestamp,
            harvest_shards=m.harvest.shards,
            feed_since=self.feed_since,
            dim=m.dim,
            text_field=m.text_field,
            search_mode=b.searcher.default_mode,
            recommend_method=b.recommend.default_method,
            recommend_by_shape=[c.model_dump() for c in b.recommend.by_shape],
            classifier=m.classifier,
            provenance=m.provenance,
            metrics=m.metrics,
            release=b.release,
            artifact_hashes={name: digest[:12] for name, digest in m.files.items()},
        )

    # questions
    async def embed(self, texts: Sequence[str]) -> Embedded:
        """Unit vectors of the texts, identical to the pipeline's, micro-batched with concurrent callers'."""
        if self.observer:
            self.observer.texts_submitted(len(texts))
        vectors, tokens = await self.batcher.embed(texts)
        return Embedded(vectors, tokens)

    async def classify(self, title: str, abstract: str, k: int) -> Categories:
        """The k likeliest primary categories of a paper, with calibrated probabilities."""
        field = self.bundle.manifest.text_field
        text = build_text(title, abstract, field)
        if not text:
            raise UnanswerableQuery(f"this model reads the {field.replace('_', ' and ')}: send that field")
        return await self.classify_text(text, k)

    async def classify_text(self, text: str, k: int) -> Categories:
        """The k likeliest primary categories of one text, read as the model reads a paper's title and abstract."""
        vector = (await self.embed([text])).vectors
        classifier = self.bundle.classifier
        probs = (await to_thread.run_sync(classifier.predict_proba, vector, [text]))[0]  # TF-IDF in a thread
        top = np.argsort(-probs)[:k]
        scores = [CategoryScore(str(classifier.classes[i]), round(float(probs[i]), 6)) for i in top]
        return Categories(scores)

    async def search_text(self, text: str, k: int, mode: str | None = None) -> Found:
        """The k nearest papers to free text in `mode` (the bundle's default when None)."""
        mode = mode or self.bundle.searcher.default_mode
        query = (await self.embed([text])).vectors if SEARCH_MODES[mode].encodes else None
        return Found(mode, await self._nearest(mode, query, text, k, skip_id=None))

    async def search_paper(self, paper_id: str, k: int) -> Found:
        """The k nearest papers to an indexed paper by its stored vector, the paper itself left out."""
        position = await to_thread.run_sync(self.bundle.papers.position, paper_id)
        if position is None:
            raise UnknownPaper(f"unknown paper id {paper_id!r}")
        query = self.bundle.index.vector(position)[None, :]
        return Found("dense", await self._nearest("dense", query, "", k, skip_id=paper_id))

    async def paper(self, paper_id: str) -> Paper:
        """The stored metadata of one indexed paper."""
        return await to_thread.run_sync(self._paper, paper_id)

    async def recommend(self, query: LibraryQuery) -> Recommendations:
        """Papers like the reader's library, none of them liked, disliked or excluded, from the window `since`
        opens, ranked by the query's method or the one the bundle chose on val for the library's shape."""
        library = await self.read_library(query)
        window = self.window(query.since)
        liked_rows = await to_thread.run_sync(self.bundle.papers.rows, library.liked)
        method = query.method or self._method_for(library, liked_rows)
        liked_texts = await self._text_examples(library.liked_texts)
        disliked_texts = await self._text_examples(library.disliked_texts)
        negatives = await to_thread.run_sync(self.negatives_sample)

        def rank() -> list[Recommended]:
            pool = replace(self.pool, positions=window.positions)
            reader = Reader(
                joined(pool.examples(np.array(library.liked, np.int64)), liked_texts),
                joined(pool.examples(np.array(library.disliked, np.int64)), disliked_texts),
                negatives,
            )
            seen = self._seen(library, query)
            ranking = recommend(method, reader, pool, self.bundle.recommend.ranking, query.k, seen)
            names = [row.id for row in liked_rows] + library.liked_text_names  # the reader's liked rows, in order
            return self._recommended(pool, reader, names, ranking)

        found = await to_thread.run_sync(self._in_search_thread, rank)
        note = None if found else self.why_empty(window)
        return Recommendations(method, query.since, found, library.unused, library.counts(), note, library.skipped)

    async def read_library(self, query: LibraryQuery) -> Library:
        """How the served index reads a reader's library (ids it holds, texts, unused entries), ranking nothing:
        what a library is checked by when it is saved."""
        return await to_thread.run_sync(
            resolve_library, query, self.bundle.papers, self.bundle.manifest.text_field, self.cfg.library
        )

    # the parts
    def window(self, since: dt.date | None) -> Window:
        """The papers first announced on or after `since`; UnanswerableQuery for a date after today (UTC)."""
        if since is None:
            return Window(None)
        if since > dt.datetime.now(dt.UTC).date():
            raise UnanswerableQuery(f"since {since} is in the future")
        return Window(since, self.bundle.papers.announced_from(since))

    def why_empty(self, window: Window) -> str:
        """Why a recommendation found no paper: most often a `since` after the newest paper's first version."""
        if window.since is None or len(window.positions):
            return "every paper that could be recommended is liked, disliked or excluded"
        newest = self.bundle.papers.newest_first_version()
        return (
            f"no paper was first announced on or after {window.since}; the newest paper's first version dates from "
            f"{newest or 'no known day'}: leave `since` out to rank the whole index, or harvest first (make update)"
        )

    @functools.cache  # noqa: B019 - one per engine, and an engine lives as long as its bundle is served
    def negatives_sample(self) -> Examples:
        """The corpus sample that per-reader linear models learn against, drawn once per bundle."""
        spec = self.bundle.recommend
        return self.pool.negatives(spec.negatives, spec.seed)

    def _in_search_thread(self, work: Callable[[], T]) -> T:
        """Run `work` on the calling (worker) thread with faiss's threads set: OpenMP's count is per thread."""
        faiss.omp_set_num_threads(self.cfg.search_threads)
        return work()

    async def _nearest(self, mode: str, query: np.ndarray | None, text: str, k: int, skip_id: str | None) -> list[Hit]:
        # faiss and numpy release the GIL: searching in a worker thread lets concurrent questions encode meanwhile
        scores, positions = await to_thread.run_sync(
            self._in_search_thread, lambda: self.bundle.searcher.run(mode, query, [text], k + 1)
        )
        hits = await to_thread.run_sync(self._hits, scores[0], positions[0], skip_id)
        return hits[:k]

    def _hits(self, scores: np.ndarray, positions: np.ndarray, skip_id: str | None) -> list[Hit]:
        """Search results labelled from the paper store, best first, without the query paper itself."""
        found = [(float(s), int(p)) for s, p in zip(scores, positions, strict=True) if p >= 0]
        rows = self.bundle.papers.rows([p for _, p in found])
        kept = [(score, row) for (score, _), row in zip(found, rows, strict=True) if row.id != skip_id]
        return [
            Hit(row.id, row.title, row.category, row.date, score=round(score, 6), rank=rank)
            for rank, (score, row) in enumerate(kept, start=1)
        ]

    def _paper(self, paper_id: str) -> Paper:
        position = self.bundle.papers.position(paper_id)
        if position is None:
            raise UnknownPaper(f"unknown paper id {paper_id!r}")
        (row,) = self.bundle.papers.rows([position])
        return paper_of(row)

    async def _text_examples(self, texts: list[str]) -> Examples:
        features = self.bundle.searcher.features
        vectors = (await self.embed(texts)).vectors if texts else np.zeros((0, self.bundle.index.d), np.float32)
        return Examples(vectors, [features.transform(t) for t in texts])

    def _method_for(self, library: Library, liked_rows: list[PaperRow]) -> str:
        """The method the bundle chose on val for a library of this shape: its size (ids and texts), and the
        primary categories of its papers the index holds (a text adds to the size only)."""
        categories = {row.category for row in liked_rows}
        return self.bundle.recommend.method_for(len(library.liked) + len(library.liked_texts), len(categories))

    def _seen(self, library: Library, query: LibraryQuery) -> set[int]:
        """Positions never recommended: the library's own papers and those the reader has seen."""
        seen = set(library.liked) | set(library.disliked)
        return seen | set(self.bundle.papers.positions(query.exclude).values())

    def _recommended(self, pool: IndexPool, reader: Reader, names: list[str], ranking: Ranking) -> list[Recommended]:
        """The ranked papers from the paper store, each with its cosine to the nearest liked paper and the names
        (`names`, one per row of `reader.liked`) of the liked papers it is nearest to."""
        scores, positions = ranking
        if not len(positions):
            return []
        cosines = pool.vectors(positions) @ reader.liked.vectors.T
        nearest = np.argsort(-cosines, axis=1, kind="stable")[:, :NEAREST_NAMED]
        rows = self.bundle.papers.rows(positions)
        return [
            Recommended(
                row.id,
                row.title,
                row.category,
                row.date,
                round(float(score), 6),
                rank,
                round(float(sims[near[0]]), 4),
                [names[i] for i in near if sims[i] >= sims[near[0]] - NEAR_MARGIN],
            )
            for rank, (row, score, sims, near) in enumerate(zip(rows, scores, cosines, nearest, strict=True), start=1)
        ]


def joined(a: Examples, b: Examples) -> Examples:
    return Examples(np.vstack([a.vectors, b.vectors]).astype(np.float32), [*a.rows, *b.rows])
