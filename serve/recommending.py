"""/recommend and /feed.atom's one answer: a reader's library looked up in the index (ids, BibTeX entries) or
encoded (texts), ranked by a method of `RECOMMENDERS` over the papers stamped since a date."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool

from arxiv_embed.recommend.bibtex import BibtexError, read_bibtex
from arxiv_embed.recommend.index_pool import IndexPool
from arxiv_embed.recommend.methods import Examples, Ranking, Reader, recommend
from serve.schemas import Recommendation, RecommendResponse
from serve.state import Served, ServerState


@dataclass(frozen=True)
class LibraryQuery:
    """What a reader asks: the fields of /recommend's body (the feed's query gives only `like`, `since`, `k`)."""

    like: list[str] = field(default_factory=list)
    like_texts: list[str] = field(default_factory=list)
    bibtex: str | None = None
    dislike: list[str] = field(default_factory=list)
    dislike_texts: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    since: dt.date | None = None
    k: int = 10
    method: str | None = None


@dataclass
class Library:
    liked: list[int] = field(default_factory=list)  # index positions
    liked_texts: list[str] = field(default_factory=list)
    disliked: list[int] = field(default_factory=list)
    disliked_texts: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)


def positions_of(served: Served, ids: list[str]) -> list[int]:
    """Index positions of `ids`; a 404 naming those the index does not hold."""
    found = {paper_id: served.bundle.papers.position(paper_id) for paper_id in ids}
    unknown = [paper_id for paper_id, position in found.items() if position is None]
    if unknown:
        raise HTTPException(404, f"not in the index: {', '.join(unknown[:10])}{' ...' if len(unknown) > 10 else ''}")
    return list(dict.fromkeys(found.values()))


def read_library(query: LibraryQuery, served: Served, max_entries: int) -> Library:
    """The query's papers as index positions and texts; BibTeX entries by their arXiv id when the index holds it,
    else by their title and abstract, else listed as unused."""
    library = Library(positions_of(served, query.like), list(query.like_texts), positions_of(served, query.dislike))
    library.disliked_texts = list(query.dislike_texts)
    if query.bibtex:
        try:
            entries = read_bibtex(query.bibtex, served.bundle.manifest.text_field)
        except BibtexError as err:
            raise HTTPException(422, str(err)) from None
        if len(entries) > max_entries:
            raise HTTPException(422, f"the BibTeX library has {len(entries)} entries; this server takes {max_entries}")
        for entry in entries:
            position = served.bundle.papers.position(entry.arxiv_id) if entry.arxiv_id else None
            if position is not None:
                library.liked.append(position)
            elif entry.text:
                library.liked_texts.append(entry.text)
            else:
                library.unused.append(entry.key)
    if not library.liked and not library.liked_texts:
        raise HTTPException(422, f"nothing in the library can be used: BibTeX entries {library.unused} have no title")
    return library


def start_position(served: Served, since: dt.date | None) -> int:
    """The first index position a recommendation may come from; a 422 for a date after today (UTC)."""
    if since is None:
        return 0
    if since > dt.datetime.now(dt.UTC).date():
        raise HTTPException(422, f"since {since} is in the future")
    return served.bundle.papers.first_position(since.isoformat())


async def text_examples(state: ServerState, served: Served, texts: list[str]) -> Examples:
    features = served.bundle.searcher.features
    vectors = (await state.encode(served, texts))[0] if texts else np.zeros((0, served.bundle.index.d), np.float32)
    return Examples(vectors, [features.transform(t) for t in texts])


def joined(a: Examples, b: Examples) -> Examples:
    return Examples(np.vstack([a.vectors, b.vectors]).astype(np.float32), [*a.rows, *b.rows])


def results(
    served: Served, pool: IndexPool, reader: Reader, ranking: Ranking, since: dt.date | None
) -> list[Recommendation]:
    """The ranked papers from the paper store, each with its cosine to the nearest liked paper; a paper harvested
    in between but stamped before `since` is left out."""
    scores, positions = ranking
    if not len(positions):
        return []
    similarity = (pool.vectors(positions) @ reader.liked.vectors.T).max(axis=1)
    rows = served.bundle.papers.rows(positions)
    kept = [
        (row, float(score), float(sim))
        for row, score, sim in zip(rows, scores, similarity, strict=True)
        if since is None or (row.datestamp or "") >= since.isoformat()
    ]
    return [
        Recommendation(
            id=row.id,
            title=row.title,
            category=row.category,
            date=row.date,
            score=round(score, 6),
            rank=rank,
            similarity=round(sim, 4),
        )
        for rank, (row, score, sim) in enumerate(kept, start=1)
    ]


async def recommendations(query: LibraryQuery, state: ServerState, served: Served) -> RecommendResponse:
    library = await run_in_threadpool(read_library, query, served, state.cfg.max_library)
    start = start_position(served, query.since)
    spec = served.bundle.recommend
    method = query.method or spec.default_method
    pool = IndexPool(served.bundle.index, served.bundle.searcher.lexical, start)
    liked_texts = await text_examples(state, served, library.liked_texts)
    disliked_texts = await text_examples(state, served, library.disliked_texts)
    background = await run_in_threadpool(served.background)

    def rank() -> list[Recommendation]:
        reader = Reader(
            joined(pool.examples(np.array(library.liked, np.int64)), liked_texts),
            joined(pool.examples(np.array(library.disliked, np.int64)), disliked_texts),
            background,
        )
        seen = set(library.liked) | set(library.disliked)
        seen |= {p for p in map(served.bundle.papers.position, query.exclude) if p is not None}
        ranking = recommend(method, reader, pool, spec.ranking, query.k, seen)
        return results(served, pool, reader, ranking, query.since)

    found = await run_in_threadpool(served.in_search_thread, rank)
    counts = {
        "liked_ids": len(library.liked),
        "liked_texts": len(library.liked_texts),
        "disliked_ids": len(library.disliked),
        "disliked_texts": len(library.disliked_texts),
    }
    return RecommendResponse(method=method, since=query.since, results=found, unused=library.unused, library=counts)
