"""The Atom feed of a reader's recommendations, built with feedgen: one entry per paper, linking to arXiv."""

from __future__ import annotations

import datetime as dt

from feedgen.feed import FeedGenerator

from arxiv_embed.engine.results import Recommendations, Recommended

ABSTRACT_PAGE = "https://arxiv.org/abs/{}"


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
        + (f"stamped since {answer.since}" if answer.since else "of the whole index")
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
        )
    return feed.atom_str(pretty=True)
