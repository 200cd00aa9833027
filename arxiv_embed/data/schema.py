"""The canonical paper record and its mapping from the source formats we accept.

Two column layouts are understood: the arXiv metadata snapshot (`id`, `categories` space-separated, the first
being primary) and the Hugging Face `nick007x/arxiv-papers` layout (`arxiv_id`, `primary_subject` such as
"Machine Learning (cs.LG)", `subjects` separated by "; ").
"""

from __future__ import annotations

import re
from typing import Any

COLUMNS = ["id", "title", "abstract", "primary_category", "categories"]

_WS = re.compile(r"\s+")
_CODE_IN_PARENS = re.compile(r"\(([^()]+)\)\s*$")


def clean_whitespace(text: str) -> str:
    """Collapse runs of whitespace (arXiv abstracts carry hard line breaks) into single spaces."""
    return _WS.sub(" ", text).strip()


def _subject_code(subject: str) -> str:
    """'Machine Learning (cs.LG)' -> 'cs.LG'; a bare code is returned as it is."""
    match = _CODE_IN_PARENS.search(subject.strip())
    return (match.group(1) if match else subject).strip()


def _as_text(value: Any) -> str:
    return clean_whitespace(value) if isinstance(value, str) else ""


def to_paper(row: dict[str, Any]) -> tuple[dict[str, str] | None, str | None]:
    """Map one source row to the canonical record, or return the reason it is malformed."""
    paper_id = _as_text(row.get("id") if row.get("id") is not None else row.get("arxiv_id"))
    if not paper_id:
        return None, "missing_id"
    title = _as_text(row.get("title"))
    if not title:
        return None, "missing_title"
    abstract = _as_text(row.get("abstract"))
    if not abstract:
        return None, "missing_abstract"

    if isinstance(row.get("categories"), str) and row["categories"].strip():
        categories = row["categories"].split()
    elif isinstance(row.get("primary_subject"), str) and row["primary_subject"].strip():
        primary = _subject_code(row["primary_subject"])
        others = [_subject_code(s) for s in str(row.get("subjects") or "").split(";") if s.strip()]
        categories = [primary] + [c for c in others if c != primary]
    else:
        return None, "missing_category"
    return {
        "id": paper_id,
        "title": title,
        "abstract": abstract,
        "primary_category": categories[0],
        "categories": " ".join(categories),
    }, None
