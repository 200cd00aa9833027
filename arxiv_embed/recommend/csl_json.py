"""A CSL JSON library (Zotero's and Better BibTeX's "CSL JSON" export, pandoc's) as library entries."""

from __future__ import annotations

import json

from arxiv_embed.data.schema import clean_whitespace
from arxiv_embed.recommend.entries import LibraryEntry, LibraryFileError, entry_of


def _text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(map(_text, value))
    return clean_whitespace(str(value)) if isinstance(value, str | int | float) else ""


def read_csl_json(text: str) -> list[LibraryEntry]:
    """The items of a CSL JSON file (a list of items, or one item)."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as err:
        raise LibraryFileError(f"the CSL JSON library does not parse: {err}") from None
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list) or not any(isinstance(item, dict) for item in items):
        raise LibraryFileError("the CSL JSON library holds no item: expected a list of objects")
    return [
        entry_of(_text(item.get("id", "")), {name.lower(): _text(v) for name, v in item.items()})
        for item in items
        if isinstance(item, dict)
    ]
