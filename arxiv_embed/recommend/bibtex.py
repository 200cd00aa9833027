"""A BibTeX library (Zotero, Better BibTeX, JabRef, Google Scholar) as library entries, parsed by bibtexparser.

Fields are read raw (an arXiv id needs no decoding); LaTeX is decoded (pylatexenc, bibtexparser's own) only in the
titles and abstracts that a question uses, which keeps a 5,000-entry library to the parse's second.
"""

from __future__ import annotations

import bibtexparser
from pylatexenc.latex2text import LatexNodes2Text

from arxiv_embed.data.schema import clean_whitespace
from arxiv_embed.recommend.entries import LibraryEntry, LibraryFileError, entry_of

_LATEX = LatexNodes2Text()


def plain_text(latex: str) -> str:
    """A field's LaTeX as the text it prints: accents, commands and braces resolved (without a command, only the
    braces go: the decoder takes milliseconds a field)."""
    if "\\" not in latex and "~" not in latex:
        return clean_whitespace(latex.replace("{", "").replace("}", ""))
    return clean_whitespace(_LATEX.latex_to_text(latex))


def read_bibtex(text: str) -> list[LibraryEntry]:
    """The entries of a BibTeX library."""
    parsed = bibtexparser.parse_string(text)
    if not parsed.entries:
        problem = f"{len(parsed.failed_blocks)} block(s) failed to parse" if parsed.failed_blocks else "no @entry"
        raise LibraryFileError(f"the BibTeX library holds no entry that parses ({problem})")
    return [
        entry_of(entry.key, {name.lower(): str(f.value) for name, f in entry.fields_dict.items()}, plain_text)
        for entry in parsed.entries
    ]
