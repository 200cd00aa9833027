"""What an arXiv id tells without a look-up: the year and month it was submitted in."""

from __future__ import annotations

import re

_NEW = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}(v\d+)?$")  # 2401.01234
_OLD = re.compile(r"^[a-z-]+(\.[A-Z]{2})?/(\d{2})(\d{2})\d{3}(v\d+)?$")  # hep-th/9901001


def id_month(paper_id: str) -> str | None:
    """The submission month of an arXiv id as `YYYY-MM`; None for a string that is not an arXiv id."""
    new = _NEW.match(paper_id)
    if new:
        return f"20{new[1]}-{new[2]}"
    old = _OLD.match(paper_id)
    if old:
        return f"{'19' if old[2] >= '90' else '20'}{old[2]}-{old[3]}"
    return None


def id_order(paper_id: str) -> tuple[str, str]:
    """A sort key in submission order (month, then the id's number); ids that are not arXiv's sort first."""
    return id_month(paper_id) or "", paper_id.rsplit("/", 1)[-1]
