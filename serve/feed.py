"""The Atom feed of a reader's recommendations, built with feedgen: one entry per paper, linking to arXiv."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re

from fastapi import Request, Response
from feedgen.feed import FeedGenerator

from arxiv_embed.engine.engine import Engine
from arxiv_embed.engine.results import Recommendations, Recommended
from arxiv_embed.recommend.library import LibraryQuery

ABSTRACT_PAGE = "https://arxiv.org/abs/{}"
FEED_TOKEN = re.compile(r"/feeds/[^/?\s\"]+")
ATOM = "application/atom+xml"
FEED_RESPONSES = {
    200: {"content": {ATOM: {}}, "description": "an Atom feed of the recommended papers"},
    304: {"description": "the feed has not changed since the ETag given in If-None-Match"},
}


def entry_time(paper: Recommended, fallback: dt.datetime) -> dt.datetime:
    """A paper's date as the entry's `updated` (a month from an arXiv id reads as its first day)."""
    if not paper.date:
        return fallback
    date = dt.date.fromisoformat(paper.date if len(paper.date) > 7 else f"{paper.date}-01")
    return dt.datetime.combine(date, dt.time(), dt.UTC)


def atom_feed(answer: Recommendations, self_url: str, version: str, built: dt.datetime) -> bytes:
    """The feed of `answer`; its id is the feed's own URL, so a reader's subscription keeps one identity."""
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title("arxiv-embed: new papers like yours")
    feed.subtitle(
        f"ranked by {answer.method} over papers "
        + (f"first announced since {answer.since}" if answer.since else "of the whole index")
        + f" (bundle {version})"
        + (f"; not in the index, left out: {', '.join(answer.skipped)}" if answer.skipped else "")
    )
    feed.link(href=self_url, rel="self")
    feed.author(name="arxiv-embed")
    feed.updated(built)
    for paper in answer.results:
        entry = feed.add_entry(order="append")
        entry.id(ABSTRACT_PAGE.format(paper.id))
        entry.title(paper.title)
        entry.link(href=ABSTRACT_PAGE.format(paper.id))
        entry.category(term=paper.category)
        entry.updated(entry_time(paper, built))
        entry.summary(
            f"#{paper.rank} · {paper.category} · cosine similarity {paper.similarity:.2f} with your nearest paper"
            f" · nearest to {', '.join(paper.nearest_liked)}"
        )
    return feed.atom_str(pretty=True)


async def feed_response(request: Request, engine: Engine, query: LibraryQuery, key: str) -> Response:
    """The feed of `query`, tagged by the served bundle and `key` (all else its answer depends on), so that a feed
    reader's repeated poll is answered 304 without ranking anything."""
    etag = '"{}"'.format(hashlib.sha256(f"{engine.version} {key}".encode()).hexdigest()[:32])
    headers = {"ETag": etag, "Cache-Control": "max-age=3600"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    answer = await engine.recommend(query)
    built = dt.datetime.fromtimestamp(engine.loaded_at, dt.UTC)
    return Response(atom_feed(answer, str(request.url), engine.version, built), media_type=ATOM, headers=headers)


class HideFeedTokens(logging.Filter):
    """A private feed's URL is its only key: an access log line shows `/feeds/<token>` instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                FEED_TOKEN.sub("/feeds/<token>", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        record.msg = FEED_TOKEN.sub("/feeds/<token>", str(record.msg))
        return True
