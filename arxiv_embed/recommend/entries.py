"""One entry of a reader's library file, whatever program exported it: its arXiv id, else its text.

Reference managers put a preprint's arXiv id in different fields: Better BibTeX in `eprint` (with or without an
`arXiv:` prefix), Zotero in the DOI `10.48550/arXiv.*`, the URL (an arxiv.org abs or pdf page), `number` or
`archiveID` (`arXiv:*`), and for older items in `journal` or `note` (`arXiv:2401.01234 [cs]`). `arxiv_id_of` looks
in each, in that order, and strips the version.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from arxiv_embed.data.text import build_text

_NEW_ID = r"(?<!\d)(?<!\d\.)\d{4}\.\d{4,5}(?!\d)"  # 2401.01234, not inside a longer number
_OLD_ID = r"(?<![\w.-])[a-z-]+(?:\.[A-Z]{2})?/\d{7}(?!\d)"  # hep-th/9901001, math.AG/0601001
_ARXIV_ID = re.compile(rf"({_NEW_ID}|{_OLD_ID})(?:v\d+)?")
# fields that hold nothing but an id: it may come bare
_ID_FIELDS = ("eprint", "arxiv", "arxivid", "arxiv_id")
# fields that hold an id among other things: only where they say arXiv
_MENTION_FIELDS = (
    "doi",
    "url",
    "urls",
    "number",
    "archiveid",
    "archive_id",
    "archive_location",
    "journal",
    "journaltitle",
    "journal_name",
    "container-title",
    "note",
    "notes",
    "extra",
    "howpublished",
)


class LibraryFileError(ValueError):
    """A library file holds no entry that parses."""


def _as_is(value: str) -> str:
    return value


@dataclass(frozen=True)
class LibraryEntry:
    """One entry: its arXiv id, else its title and abstract as the file holds them, turned into text only when
    it is used (BibTeX's LaTeX decoding costs milliseconds a field, and a library may hold thousands)."""

    key: str  # the exporter's key or id, else the title: how an unused entry is named back
    arxiv_id: str | None  # without a version
    title: str = ""
    abstract: str = ""
    decode: Callable[[str], str] = _as_is  # the format's markup to plain text

    @property
    def has_text(self) -> bool:
        return bool(self.title.strip() or self.abstract.strip())

    def text(self, text_field: str) -> str:
        """Its title and abstract as the served model reads a paper's."""
        return build_text(self.decode(self.title), self.decode(self.abstract), text_field)


def arxiv_id_of(fields: Mapping[str, str]) -> str | None:
    """The arXiv id an entry names, if any; `fields` by lower-case name."""
    for name in _ID_FIELDS:
        if found := _ARXIV_ID.search(fields.get(name, "")):
            return found[1]
    for name in _MENTION_FIELDS:
        value = fields.get(name, "")
        if "arxiv" in value.lower() and (found := _ARXIV_ID.search(value)):
            return found[1]
    return None


def entry_of(key: str, fields: Mapping[str, str], decode: Callable[[str], str] = _as_is) -> LibraryEntry:
    """An entry from its fields by lower-case name (`title`, `abstract` and those that may hold an arXiv id)."""
    title = fields.get("title", "")
    return LibraryEntry(key or title[:80], arxiv_id_of(fields), title, fields.get("abstract", ""), decode)
