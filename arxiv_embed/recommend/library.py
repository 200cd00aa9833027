"""A reader's library, as a question names it (ids, texts, library files), looked up in the served paper store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from arxiv_embed.errors import UnanswerableQuery, UnknownPaper
from arxiv_embed.recommend.entries import LibraryEntry, LibraryFileError
from arxiv_embed.recommend.library_files import LIBRARY_FORMATS
from arxiv_embed.search.papers import PaperStore

MAX_NAMED = 10  # unknown ids an error names


@dataclass(frozen=True)
class LibraryLimits:
    """How much of a library one question may bring, and how much of it is encoded."""

    max_entries: int = 5000  # entries of the library files of one question
    # liked texts encoded per question: a larger library's texts are a seeded sample of this many, so a whole
    # export's cost stays bounded
    max_texts: int = 64


@dataclass(frozen=True)
class LibraryQuery:
    """What a reader asks: the library, what has been seen, from which date on papers count, how many, how."""

    like: list[str] = field(default_factory=list)
    like_texts: list[str] = field(default_factory=list)
    bibtex: str | None = None
    ris: str | None = None
    csl_json: str | None = None
    dislike: list[str] = field(default_factory=list)
    dislike_texts: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    since: dt.date | None = None
    k: int = 10
    method: str | None = None
    # liked ids the index does not hold are left out and named (a feed reader cannot read a 404); unless none is
    # held, which is still the 404 that names them
    skip_unknown: bool = False

    def files(self) -> dict[str, str]:
        """The library files the question holds, by format (a key of LIBRARY_FORMATS)."""
        return {name: text for name in LIBRARY_FORMATS if (text := getattr(self, name))}


@dataclass
class Library:
    """The library as index positions and texts, how its files' entries were used, and the keys of the unused."""

    liked: list[int] = field(default_factory=list)
    liked_texts: list[str] = field(default_factory=list)
    liked_text_names: list[str] = field(default_factory=list)  # each liked text's entry key, or like_texts[i]
    disliked: list[int] = field(default_factory=list)
    disliked_texts: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    entries: int = 0  # in the library files
    entries_by_id: int = 0  # matched to a paper of the index by their arXiv id
    entries_by_text: int = 0  # read as their title and abstract
    texts_left_out: int = 0  # liked texts beyond LibraryLimits.max_texts: not encoded
    skipped: list[str] = field(default_factory=list)  # liked ids the index does not hold (LibraryQuery.skip_unknown)

    def counts(self) -> dict[str, int]:
        return {
            "liked_ids": len(self.liked),
            "liked_texts": len(self.liked_texts),
            "disliked_ids": len(self.disliked),
            "disliked_texts": len(self.disliked_texts),
            "file_entries": self.entries,
            "file_entries_by_id": self.entries_by_id,
            "file_entries_by_text": self.entries_by_text,
            "texts_left_out": self.texts_left_out,
        }


def positions_of(papers: PaperStore, ids: list[str], skip_unknown: bool = False) -> tuple[list[int], list[str]]:
    """Index positions of `ids`, each once, and the ids left out: with `skip_unknown` those the index does not
    hold while it holds another; otherwise (or when it holds none) UnknownPaper naming them."""
    held = papers.positions(ids)
    found = {paper_id: held.get(paper_id) for paper_id in ids}
    unknown = [paper_id for paper_id, position in found.items() if position is None]
    if unknown and not (skip_unknown and len(unknown) < len(found)):
        more = " ..." if len(unknown) > MAX_NAMED else ""
        raise UnknownPaper(f"not in the index: {', '.join(unknown[:MAX_NAMED])}{more}")
    return list(dict.fromkeys(p for p in found.values() if p is not None)), unknown


def read_files(query: LibraryQuery, limits: LibraryLimits) -> list[LibraryEntry]:
    """Every entry of the question's library files; UnanswerableQuery for a file that does not parse or a library
    over the limit."""
    entries = []
    for name, text in query.files().items():
        read, _ = LIBRARY_FORMATS[name]
        try:
            entries += read(text)
        except LibraryFileError as err:
            raise UnanswerableQuery(f"{name}: {err}") from None
    if len(entries) > limits.max_entries:
        held = f"the library files hold {len(entries)} entries"
        raise UnanswerableQuery(f"{held}; this server takes {limits.max_entries} (ARXIV_EMBED_MAX_LIBRARY_ENTRIES)")
    return entries


def sampled(count: int, limit: int) -> list[int]:
    """At most `limit` of `count` items, a seeded uniform sample in their order: it keeps a library's mix of
    interests."""
    if count <= limit:
        return list(range(count))
    return np.sort(np.random.default_rng(0).choice(count, limit, replace=False)).tolist()


def resolve_library(query: LibraryQuery, papers: PaperStore, text_field: str, limits: LibraryLimits) -> Library:
    """The query's papers as index positions and texts; file entries by their arXiv id when the index holds it,
    else by their title and abstract, else listed as unused. Of the liked texts, at most `limits.max_texts` are
    kept (a seeded sample), and only those of the file entries are decoded."""
    liked, skipped = positions_of(papers, query.like, query.skip_unknown)
    library = Library(liked=liked, disliked=positions_of(papers, query.dislike)[0], skipped=skipped)
    library.disliked_texts = list(query.dislike_texts)
    entries = read_files(query, limits)
    by_text = []
    held = papers.positions([entry.arxiv_id for entry in entries if entry.arxiv_id])
    for entry in entries:
        position = held.get(entry.arxiv_id) if entry.arxiv_id else None
        if position is not None:
            library.liked.append(position)
        elif entry.has_text:
            by_text.append(entry)
        else:
            library.unused.append(entry.key)
    library.liked = list(dict.fromkeys(library.liked))
    library.entries, library.entries_by_text = len(entries), len(by_text)
    library.entries_by_id = len(entries) - len(by_text) - len(library.unused)
    given = list(query.like_texts)
    keep = sampled(len(given) + len(by_text), limits.max_texts)
    texts = [
        (given[i], f"like_texts[{i}]")
        if i < len(given)
        else (by_text[i - len(given)].text(text_field), by_text[i - len(given)].key)
        for i in keep
    ]
    library.liked_texts = [text for text, _ in texts if text]
    library.liked_text_names = [name for text, name in texts if text]
    library.texts_left_out = len(given) + len(by_text) - len(keep)
    if not library.liked and not library.liked_texts:
        raise UnanswerableQuery(f"nothing in the library can be used: entries {library.unused} have no title")
    return library
