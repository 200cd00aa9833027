"""A RIS library (Zotero, EndNote, Mendeley, Papers) as library entries, parsed by rispy."""

from __future__ import annotations

import rispy

from arxiv_embed.data.schema import clean_whitespace
from arxiv_embed.recommend.entries import LibraryEntry, LibraryFileError, entry_of

# rispy's names for the tags that carry a title; the first one present is the entry's title
_TITLES = ("title", "primary_title")


def _text(value: object) -> str:
    return clean_whitespace(" ".join(map(str, value)) if isinstance(value, list) else str(value))


def read_ris(text: str) -> list[LibraryEntry]:
    """The records of a RIS file."""
    try:
        records = rispy.loads(text)
    except Exception as err:  # rispy raises plain IOError/ValueError subclasses on a malformed file
        raise LibraryFileError(f"the RIS library does not parse: {err}") from None
    if not records:
        raise LibraryFileError("the RIS library holds no record (TY - ... ER -)")
    entries = []
    for record in records:
        fields = {name.lower(): _text(value) for name, value in record.items()}
        fields["title"] = next((fields[name] for name in _TITLES if fields.get(name)), "")
        entries.append(entry_of(fields.get("id", ""), fields))
    return entries
