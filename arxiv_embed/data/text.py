"""How a paper becomes the one string that every encoder (torch, ONNX, served) sees."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from arxiv_embed.params import params_section

TextField = Literal["title_abstract", "abstract", "title"]
TEXT_FIELDS = get_args(TextField)


@params_section
class TextConfig:
    """The shared `text` section: which part of a paper every encoder and the TF-IDF models read."""

    field: TextField


def build_text(title: str, abstract: str, field: str = "title_abstract") -> str:
    """Join title and abstract as `title + ". " + abstract` (or one of them alone)."""
    if field == "title_abstract":
        title, abstract = title.strip(), abstract.strip()
        if title and abstract:
            return f"{title}. {abstract}"
        return title or abstract
    if field == "abstract":
        return abstract.strip()
    if field == "title":
        return title.strip()
    raise ValueError(f"unknown text field {field!r}; expected one of {', '.join(TEXT_FIELDS)}")


def build_texts(titles: Iterable[str], abstracts: Iterable[str], field: str) -> list[str]:
    """`build_text` over parallel columns."""
    return [build_text(t, a, field) for t, a in zip(titles, abstracts, strict=True)]
