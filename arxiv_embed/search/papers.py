"""The metadata of indexed papers (id, title, primary category) in a read-only SQLite file, by index position.

The server answers `/papers/{id}` and labels search hits from disk pages instead of Python lists, so its memory
and start-up time stay flat as the corpus grows to millions of papers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

PAPERS_FILE = "papers.sqlite"
_SCHEMA = """
CREATE TABLE papers (pos INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT NOT NULL, category TEXT NOT NULL);
"""


def write_papers(path: Path, rows: Iterable[tuple[str, str, str]]) -> int:
    """Write (id, title, category) rows; the i-th row is index position i. Returns the row count."""
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA)
        db.executemany("INSERT INTO papers VALUES (?, ?, ?, ?)", ((i, *row) for i, row in enumerate(rows)))
        db.execute("CREATE UNIQUE INDEX papers_id ON papers (id)")
        count = db.execute("SELECT count(*) FROM papers").fetchone()[0]
    db.close()
    return count


class PaperStore:
    """Read-only look-ups by position and by id."""

    def __init__(self, path: Path) -> None:
        uri = f"file:{Path(path).resolve()}?mode=ro&immutable=1"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self.size = self.db.execute("SELECT count(*) FROM papers").fetchone()[0]

    def __len__(self) -> int:
        return self.size

    def position(self, paper_id: str) -> int | None:
        row = self.db.execute("SELECT pos FROM papers WHERE id = ?", (paper_id,)).fetchone()
        return row[0] if row else None

    def rows(self, positions: Sequence[int]) -> list[tuple[str, str, str]]:
        """(id, title, category) of each position, in the order given."""
        wanted = [int(p) for p in positions]
        marks = ",".join("?" * len(wanted))
        found = {
            pos: (paper_id, title, category)
            for pos, paper_id, title, category in self.db.execute(
                f"SELECT pos, id, title, category FROM papers WHERE pos IN ({marks})", wanted
            )
        }
        return [found[p] for p in wanted]

    def column(self, name: str) -> np.ndarray:
        """A whole column (`id` or `category`) in position order, for evaluation over the corpus."""
        if name not in ("id", "category"):
            raise ValueError(f"no column {name!r}")
        return np.array([v for (v,) in self.db.execute(f"SELECT {name} FROM papers ORDER BY pos")], dtype=object)
