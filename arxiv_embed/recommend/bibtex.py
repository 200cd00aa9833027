"""A reader's BibTeX library as papers: entries with an arXiv id are matched by it, the others read as text."""

from __future__ import annotations

import re
from dataclasses import dataclass

import bibtexparser
from bibtexparser.middlewares import LatexDecodingMiddleware

from arxiv_embed.data.schema import clean_whitespace
from arxiv_embed.data.text import build_text

# An arXiv id in the fields that carry one: eprint, arxiv / arxivid, or an arxiv.org URL or DOI.
_ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?")
_ID_FIELDS = ("eprint", "arxiv", "arxivid", "url", "doi")


class BibtexError(ValueError):
    """The text holds no BibTeX entry at all, or none that parses."""


@dataclass(frozen=True)
class BibtexEntry:
    key: str
    arxiv_id: str | None  # without a version
    text: str  # its title and abstract as the served model reads them; "" when it has neither


def arxiv_id(fields: dict[str, str]) -> str | None:
    """The arXiv id an entry names, if any (eprint first)."""
    for name in _ID_FIELDS:
        value = fields.get(name, "")
        if name in ("url", "doi") and "arxiv" not in value.lower():
            continue
        found = _ARXIV_ID.search(value)
        if found:
            return found[1]
    return None


def read_bibtex(text: str, field_name: str) -> list[BibtexEntry]:
    """The entries of a BibTeX library; `field_name` is the text field the served model reads."""
    parsed = bibtexparser.parse_string(text, append_middleware=[LatexDecodingMiddleware()])
    if not parsed.entries:
        problem = f"{len(parsed.failed_blocks)} block(s) failed to parse" if parsed.failed_blocks else "no @entry"
        raise BibtexError(f"the BibTeX library holds no entry that parses ({problem})")
    entries = []
    for entry in parsed.entries:
        fields = {
            key.lower(): clean_whitespace(str(f.value).replace("{", "").replace("}", ""))
            for key, f in entry.fields_dict.items()
        }
        text = build_text(fields.get("title", ""), fields.get("abstract", ""), field_name)
        entries.append(BibtexEntry(entry.key, arxiv_id(fields), text))
    return entries
