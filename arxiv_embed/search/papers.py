"""The metadata of indexed papers (id, title, primary category) in a read-only SQLite file, by index position.

The server answers `/papers/{id}` and labels search hits from disk pages instead of Python lists, so its memory
and start-up time stay flat as the corpus grows to millions of papers. Harvested papers are appended with their
OAI datestamp (the record's last change) and the date of their first version (`created`, a column the first
append adds to a base file); a paper that was withdrawn, or replaced by a new version further down, keeps its row
(positions never move) with `removed` set, and `removed.npy` lists those positions for the searches to leave out.
Every paper is dated by its first version, to the day where the harvest read it and otherwise by its id's month,
so "new since a day" selects from the whole store, the base corpus included (`announced_from`).
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from arxiv_embed.data.arxiv_ids import id_month

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
# days between a paper's first version and its announcement (a weekend, a holiday): a paper first announced on or
# after a day may have been submitted this many days before it
ANNOUNCEMENT_LAG = np.timedelta64(7, "D")


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

    def append(self, rows: Iterable[tuple[str, str, str, str, str | None]]) -> None:
        """(id, title, category, datestamp, created) rows at the next positions."""
        rows = list(rows)
        if "created" not in columns(self.db):
            self.db.execute("ALTER TABLE papers ADD COLUMN created TEXT")
        self.db.executemany(
            "INSERT INTO papers (pos, id, title, category, datestamp, created) VALUES (?, ?, ?, ?, ?, ?)",
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


def newest_first_version(path: Path) -> dt.date | None:
    """The day of the newest paper's first version in the papers file at `path`; None without the file (the
    models are not pulled)."""
    return PaperStore(path).newest_first_version() if path.is_file() else None


def load_removed(folder: Path) -> np.ndarray:
    """The removed positions of an index folder (none for a folder without the file: a base index)."""
    path = folder / REMOVED_FILE
    return np.load(path) if path.is_file() else np.zeros(0, dtype=np.int64)


def columns(db: sqlite3.Connection) -> set[str]:
    return {name for _, name, *_ in db.execute("PRAGMA table_info(papers)")}


class PaperRow(NamedTuple):
    id: str
    title: str
    category: str
    datestamp: str | None  # the OAI datestamp (last change) of a harvested paper; None for the base corpus's
    created: str | None = None  # the day of a harvested paper's first version, where the harvest read it

    @property
    def date(self) -> str | None:
        """What a reader sees: the day of the paper's first version, else the month its arXiv id was given in
        (both are first announcements: a revised paper keeps its date)."""
        return self.created or id_month(self.id)


class PaperStore:
    """Read-only look-ups by position and by id (the live row of an id: its newest version, never a removed one)."""

    def __init__(self, path: Path) -> None:
        uri = f"file:{Path(path).resolve()}?mode=ro&immutable=1"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self.size = self.db.execute("SELECT count(*) FROM papers").fetchone()[0]
        self.live = self.db.execute("SELECT count(*) FROM papers WHERE removed = 0").fetchone()[0]
        self.newest_datestamp = self.db.execute("SELECT max(datestamp) FROM papers").fetchone()[0]
        self.created = "created" if "created" in columns(self.db) else "NULL"  # a base file has no such column

    def __len__(self) -> int:
        return self.size

    @functools.cached_property
    def first_versions(self) -> tuple[np.ndarray, np.ndarray]:
        """Per position, the earliest day its first version can date from (NaT when nothing dates it) and whether
        only its id's month is known: `created` for a harvested paper, else the first day of its id's month, else
        (not an arXiv id) its record's datestamp."""
        days, by_month = [], []
        for paper_id, datestamp, created in self.db.execute(
            f"SELECT id, datestamp, {self.created} FROM papers ORDER BY pos"
        ):
            month = None if created else id_month(paper_id)
            days.append(created[:10] if created else f"{month}-01" if month else (datestamp or "NaT")[:10])
            by_month.append(month is not None)
        return np.array(days, dtype="datetime64[D]"), np.array(by_month, dtype=bool)

    @functools.cached_property
    def last_announcements(self) -> np.ndarray:
        """Per position, the last day the paper can have been first announced: a first version known to the day
        plus ANNOUNCEMENT_LAG, or the end of the id's month for one known only by its month (a paper is never
        taken for older than it is); NaT for an undated paper."""
        first, by_month = self.first_versions
        month_end = (first.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
        return np.where(by_month, month_end, first + ANNOUNCEMENT_LAG)

    def announced_from(self, since: dt.date) -> np.ndarray:
        """Positions of the papers that may have been first announced on or after `since`; undated papers never."""
        return np.flatnonzero(self.last_announcements >= np.datetime64(since))

    def newest_first_version(self) -> dt.date | None:
        """The first day of the newest paper's first version: its `created`, or the first day of the newest id's
        month (the base corpus); None for a store of undated papers."""
        first, _ = self.first_versions
        dated = first[~np.isnat(first)]
        return dated.max().astype(dt.date) if len(dated) else None

    def position(self, paper_id: str) -> int | None:
        row = self.db.execute(_LIVE, (paper_id,)).fetchone()
        return row[0] if row else None

    def positions(self, paper_ids: Sequence[str]) -> dict[str, int]:
        """The live position of each id the store holds, in one query per thousand ids (a library of thousands)."""
        found: dict[str, int] = {}
        wanted = list(dict.fromkeys(paper_ids))
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id, max(pos) FROM papers WHERE removed = 0 AND id IN ({marks}) GROUP BY id"
            found.update(self.db.execute(query, chunk).fetchall())
        return found

    def rows(self, positions: Sequence[int]) -> list[PaperRow]:
        """The stored row of each position, in the order given."""
        wanted = [int(p) for p in positions]
        marks = ",".join("?" * len(wanted))
        found = {
            pos: PaperRow(*row)
            for pos, *row in self.db.execute(
                f"SELECT pos, id, title, category, datestamp, {self.created} FROM papers WHERE pos IN ({marks})", wanted
            )
        }
        return [found[p] for p in wanted]

    def column(self, name: str) -> np.ndarray:
        """A whole column (`id` or `category`) in position order, for evaluation over the corpus."""
        if name not in ("id", "category"):
            raise ValueError(f"no column {name!r}")
        return np.array([v for (v,) in self.db.execute(f"SELECT {name} FROM papers ORDER BY pos")], dtype=object)
