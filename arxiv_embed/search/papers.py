"""The metadata of indexed papers (id, title, primary category) in a read-only SQLite file, by index position.

The server answers `/papers/{id}` and labels search hits from disk pages instead of Python lists, so its memory
and start-up time stay flat as the corpus grows to millions of papers. Harvested papers are appended with their
OAI datestamp; a paper that was withdrawn, or replaced by a new version further down, keeps its row (positions
never move) with `removed` set, and `removed.npy` lists those positions for the searches to leave out.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

PAPERS_FILE = "papers.sqlite"
REMOVED_FILE = "removed.npy"  # positions of withdrawn or replaced papers, sorted
_SCHEMA = """
CREATE TABLE papers (
    pos INTEGER PRIMARY KEY, id TEXT NOT NULL, title TEXT NOT NULL, category TEXT NOT NULL,
    datestamp TEXT, removed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX papers_id ON papers (id, pos);
"""
_LIVE = "SELECT pos FROM papers WHERE id = ? AND removed = 0 ORDER BY pos DESC LIMIT 1"


def write_papers(path: Path, rows: Iterable[tuple[str, str, str]]) -> int:
    """Write (id, title, category) rows; the i-th row is index position i. Returns the row count."""
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO papers (pos, id, title, category) VALUES (?, ?, ?, ?)",
            ((i, *row) for i, row in enumerate(rows)),
        )
        count = db.execute("SELECT count(*) FROM papers").fetchone()[0]
    db.close()
    return count


class PaperEditor:
    """Appends harvested papers to a papers file and retires the rows they replace, in one transaction."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path)
        self.size = self.db.execute("SELECT count(*) FROM papers").fetchone()[0]

    def live_position(self, paper_id: str) -> int | None:
        row = self.db.execute(_LIVE, (paper_id,)).fetchone()
        return row[0] if row else None

    def remove(self, positions: Iterable[int]) -> None:
        self.db.executemany("UPDATE papers SET removed = 1 WHERE pos = ?", ((int(p),) for p in positions))

    def append(self, rows: Iterable[tuple[str, str, str, str]]) -> None:
        """(id, title, category, datestamp) rows at the next positions."""
        rows = list(rows)
        self.db.executemany(
            "INSERT INTO papers (pos, id, title, category, datestamp) VALUES (?, ?, ?, ?, ?)",
            ((self.size + i, *row) for i, row in enumerate(rows)),
        )
        self.size += len(rows)

    def removed_positions(self) -> np.ndarray:
        return np.array(
            [p for (p,) in self.db.execute("SELECT pos FROM papers WHERE removed = 1 ORDER BY pos")], dtype=np.int64
        )

    def newest_datestamp(self) -> str | None:
        return self.db.execute("SELECT max(datestamp) FROM papers").fetchone()[0]

    def close(self) -> None:
        self.db.commit()
        self.db.close()


def load_removed(folder: Path) -> np.ndarray:
    """The removed positions of an index folder (none for a folder without the file: a base index)."""
    path = folder / REMOVED_FILE
    return np.load(path) if path.is_file() else np.zeros(0, dtype=np.int64)


class PaperStore:
    """Read-only look-ups by position and by id (the live row of an id: its newest version, never a removed one)."""

    def __init__(self, path: Path) -> None:
        uri = f"file:{Path(path).resolve()}?mode=ro&immutable=1"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self.size = self.db.execute("SELECT count(*) FROM papers").fetchone()[0]
        self.live = self.db.execute("SELECT count(*) FROM papers WHERE removed = 0").fetchone()[0]
        self.newest_datestamp = self.db.execute("SELECT max(datestamp) FROM papers").fetchone()[0]

    def __len__(self) -> int:
        return self.size

    def position(self, paper_id: str) -> int | None:
        row = self.db.execute(_LIVE, (paper_id,)).fetchone()
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
