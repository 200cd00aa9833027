"""Readers' saved libraries in one SQLite file (WAL), each with an owner secret and a private feed token.

A library is what a `/recommend` question holds but its date (likes, dislikes, texts, library files, `k`,
`method`), kept as JSON with a version that grows by one on each change. Its owner secret (answered once, when it is
saved) reads, changes and deletes it; its feed token opens only its feed, so a feed reader can poll the feed's URL
without headers. Both are 256 random bits from `secrets` and stored only as their SHA-256 hashes; a rotated or
deleted library's token is kept among the revoked ones, so its old URL is told apart from a guessed one.

Every change is one transaction that reads and writes under SQLite's write lock (`BEGIN IMMEDIATE`), so concurrent
edits of one library each land, and the file is synced at each commit (`synchronous=FULL`), so an acknowledged
change survives the server being killed. Each thread has its own connection: SQLite serialises the writers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS libraries (
    id TEXT PRIMARY KEY,
    owner_hash TEXT NOT NULL,
    feed_hash TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    version INTEGER NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_feeds (feed_hash TEXT PRIMARY KEY, revoked TEXT NOT NULL);
"""
FILE_NAME = "libraries.sqlite"


class LibraryNotFound(LookupError):
    """No saved library has this id (never saved, or deleted)."""

    def __init__(self, library_id: str) -> None:
        super().__init__(f"no saved library has the id {library_id}")


class VersionConflict(RuntimeError):
    """A change was made against a version of the library that is no longer the current one."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class SavedLibrary:
    id: str
    spec: dict[str, Any]  # the library as a `/recommend` body holds it, without `since`
    version: int
    created: str
    updated: str


@dataclass(frozen=True)
class Credentials:
    """What a new library's owner is told once: the secret for the library and the token of its feed."""

    owner_secret: str
    feed_token: str


@dataclass(frozen=True)
class FeedLookup:
    """What a feed token opens: a library, or nothing because the token was revoked (else it was never issued)."""

    library: SavedLibrary | None
    revoked: bool


class SavedLibraries:
    """The saved libraries of one server, in `data_dir/libraries.sqlite`."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE_NAME
        self._local = threading.local()
        with self._transaction() as db:
            for statement in SCHEMA.split(";")[:-1]:
                db.execute(statement)

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.row_factory = sqlite3.Row
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock at its start so a read-modify-write cannot interleave."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def create(self, spec: dict[str, Any]) -> tuple[SavedLibrary, Credentials]:
        library_id = secrets.token_urlsafe(12)
        credentials = Credentials(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        stamp = now()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO libraries VALUES (?, ?, ?, ?, 1, ?, ?)",
                (
                    library_id,
                    digest(credentials.owner_secret),
                    digest(credentials.feed_token),
                    json.dumps(spec),
                    stamp,
                    stamp,
                ),
            )
        return SavedLibrary(library_id, spec, 1, stamp, stamp), credentials

    def get(self, library_id: str) -> SavedLibrary:
        row = self._connection().execute("SELECT * FROM libraries WHERE id = ?", (library_id,)).fetchone()
        if row is None:
            raise LibraryNotFound(library_id)
        return saved(row)

    def owned_by(self, library_id: str, secret: str) -> bool:
        """Whether `secret` is the library's owner secret (False for a library that does not exist)."""
        row = self._connection().execute("SELECT owner_hash FROM libraries WHERE id = ?", (library_id,)).fetchone()
        return row is not None and hmac.compare_digest(row["owner_hash"], digest(secret))

    def change(
        self, library_id: str, edit: Callable[[dict[str, Any]], dict[str, Any]], if_version: int | None = None
    ) -> SavedLibrary:
        """Apply `edit` to the current spec and store its result as the next version, in one transaction;
        VersionConflict if `if_version` is given and is not the current version."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM libraries WHERE id = ?", (library_id,)).fetchone()
            if row is None:
                raise LibraryNotFound(library_id)
            if if_version is not None and if_version != row["version"]:
                raise VersionConflict(f"the library is at version {row['version']}, not {if_version}")
            spec, stamp = edit(json.loads(row["spec"])), now()
            db.execute(
                "UPDATE libraries SET spec = ?, version = version + 1, updated = ? WHERE id = ?",
                (json.dumps(spec), stamp, library_id),
            )
        return SavedLibrary(library_id, spec, row["version"] + 1, row["created"], stamp)

    def rotate_feed(self, library_id: str) -> str:
        """A new feed token for the library; the old one is revoked."""
        token = secrets.token_urlsafe(32)
        with self._transaction() as db:
            revoke_feed(db, library_id)
            db.execute("UPDATE libraries SET feed_hash = ? WHERE id = ?", (digest(token), library_id))
        return token

    def delete(self, library_id: str) -> None:
        """Remove the library; its feed token is revoked."""
        with self._transaction() as db:
            revoke_feed(db, library_id)
            db.execute("DELETE FROM libraries WHERE id = ?", (library_id,))

    def by_feed_token(self, token: str) -> FeedLookup:
        db, hashed = self._connection(), digest(token)
        row = db.execute("SELECT * FROM libraries WHERE feed_hash = ?", (hashed,)).fetchone()
        if row is not None:
            return FeedLookup(saved(row), revoked=False)
        revoked = db.execute("SELECT 1 FROM revoked_feeds WHERE feed_hash = ?", (hashed,)).fetchone()
        return FeedLookup(None, revoked=revoked is not None)


def revoke_feed(db: sqlite3.Connection, library_id: str) -> None:
    """Within a transaction: keep the library's feed token among the revoked ones (LibraryNotFound without it)."""
    row = db.execute("SELECT feed_hash FROM libraries WHERE id = ?", (library_id,)).fetchone()
    if row is None:
        raise LibraryNotFound(library_id)
    db.execute("INSERT INTO revoked_feeds VALUES (?, ?)", (row["feed_hash"], now()))


def saved(row: sqlite3.Row) -> SavedLibrary:
    return SavedLibrary(row["id"], json.loads(row["spec"]), row["version"], row["created"], row["updated"])
