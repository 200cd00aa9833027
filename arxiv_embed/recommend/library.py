"""A reader's library, as a question names it (ids, texts, BibTeX), looked up in the served paper store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from arxiv_embed.errors import UnanswerableQuery, UnknownPaper
from arxiv_embed.recommend.bibtex import BibtexError, read_bibtex
from arxiv_embed.search.papers import PaperStore

MAX_NAMED = 10  # unknown ids an error names


@dataclass(frozen=True)
class LibraryQuery:
    """What a reader asks: the library, what has been seen, from which date on papers count, how many, how."""

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
    """The library as index positions and texts, and the BibTeX keys that could be used as neither."""

    liked: list[int] = field(default_factory=list)
    liked_texts: list[str] = field(default_factory=list)
    disliked: list[int] = field(default_factory=list)
    disliked_texts: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "liked_ids": len(self.liked),
            "liked_texts": len(self.liked_texts),
            "disliked_ids": len(self.disliked),
            "disliked_texts": len(self.disliked_texts),
        }


def positions_of(papers: PaperStore, ids: list[str]) -> list[int]:
    """Index positions of `ids`, each once; UnknownPaper naming those the index does not hold."""
    found = {paper_id: papers.position(paper_id) for paper_id in ids}
    unknown = [paper_id for paper_id, position in found.items() if position is None]
    if unknown:
        more = " ..." if len(unknown) > MAX_NAMED else ""
        raise UnknownPaper(f"not in the index: {', '.join(unknown[:MAX_NAMED])}{more}")
    return list(dict.fromkeys(found.values()))


def resolve_library(query: LibraryQuery, papers: PaperStore, text_field: str, max_entries: int) -> Library:
    """The query's papers as index positions and texts; BibTeX entries by their arXiv id when the index holds it,
    else by their title and abstract, else listed as unused."""
    library = Library(positions_of(papers, query.like), list(query.like_texts), positions_of(papers, query.dislike))
    library.disliked_texts = list(query.dislike_texts)
    if query.bibtex:
        try:
            entries = read_bibtex(query.bibtex, text_field)
        except BibtexError as err:
            raise UnanswerableQuery(str(err)) from None
        if len(entries) > max_entries:
            raise UnanswerableQuery(f"the BibTeX library has {len(entries)} entries; this server takes {max_entries}")
        for entry in entries:
            position = papers.position(entry.arxiv_id) if entry.arxiv_id else None
            if position is not None:
                library.liked.append(position)
            elif entry.text:
                library.liked_texts.append(entry.text)
            else:
                library.unused.append(entry.key)
    if not library.liked and not library.liked_texts:
        raise UnanswerableQuery(f"nothing in the library can be used: BibTeX entries {library.unused} have no title")
    return library
