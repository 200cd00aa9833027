"""The library file formats `/recommend` reads, one registry entry each: a request field of that name holds the
file's text."""

from __future__ import annotations

from collections.abc import Callable

from arxiv_embed.recommend.bibtex import read_bibtex
from arxiv_embed.recommend.csl_json import read_csl_json
from arxiv_embed.recommend.entries import LibraryEntry
from arxiv_embed.recommend.ris import read_ris

Reader = Callable[[str], list[LibraryEntry]]  # a file's text -> its entries

LIBRARY_FORMATS: dict[str, tuple[Reader, str]] = {
    "bibtex": (read_bibtex, "a BibTeX library (Zotero, Better BibTeX, JabRef, Google Scholar)"),
    "ris": (read_ris, "a RIS library (Zotero, EndNote, Mendeley)"),
    "csl_json": (read_csl_json, "a CSL JSON library (Zotero, Better BibTeX, pandoc)"),
}
