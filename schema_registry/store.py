"""Durable state in one SQLite file (WAL): schemas, subject versions, compatibility config.

One connection guarded by a lock: a single writer, safe from any thread. Schema ids come
from an AUTOINCREMENT key on the canonical text, so an identical schema has one id across
subjects and ids are never reused, even after permanent deletes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GLOBAL = ""  # the config row of the global compatibility level

SCHEMA_DDL = """
CREATE TABLE IF NOT EXISTS schemas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    schema_type TEXT NOT NULL,
    schema TEXT NOT NULL,
    UNIQUE (schema_type, schema)
);
CREATE TABLE IF NOT EXISTS versions (
    subject TEXT NOT NULL,
    version INTEGER NOT NULL,
    schema_id INTEGER NOT NULL REFERENCES schemas (id),
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (subject, version)
);
CREATE INDEX IF NOT EXISTS versions_by_schema ON versions (schema_id);
CREATE TABLE IF NOT EXISTS config (
    subject TEXT PRIMARY KEY,
    compatibility TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Version:
    """One version of a subject."""

    subject: str
    version: int
    schema_id: int
    schema: str
    schema_type: str
    deleted: bool


def _version(row: tuple) -> Version:
    subject, number, schema_id, schema, schema_type, deleted = row
    return Version(subject, number, schema_id, schema, schema_type, bool(deleted))


# Given the live versions of a subject (oldest first), the messages that forbid registering.
CompatibilityGate = Callable[[list[Version]], list[str]]


class Store:
    """Registry state; every method is atomic."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            self._db.executescript(SCHEMA_DDL)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, *args: object) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- reads -------------------------------------------------------------------------
    _VERSION_SQL = (
        "SELECT v.subject, v.version, v.schema_id, s.schema, s.schema_type, v.deleted "
        "FROM versions v JOIN schemas s ON s.id = v.schema_id "
    )

    def versions(self, subject: str, *, deleted: bool = False) -> list[Version]:
        """Versions of ``subject``, oldest first; soft-deleted ones only when ``deleted``."""
        rows = self._rows(
            self._VERSION_SQL + "WHERE v.subject = ? AND (? OR NOT v.deleted) ORDER BY v.version",
            subject,
            deleted,
        )
        return [_version(row) for row in rows]

    def version(self, subject: str, version: int, *, deleted: bool = False) -> Version | None:
        rows = self._rows(
            self._VERSION_SQL + "WHERE v.subject = ? AND v.version = ? AND (? OR NOT v.deleted)",
            subject,
            version,
            deleted,
        )
        return _version(rows[0]) if rows else None

    def latest(self, subject: str) -> Version | None:
        rows = self._rows(
            self._VERSION_SQL + "WHERE v.subject = ? AND NOT v.deleted ORDER BY v.version DESC LIMIT 1",
            subject,
        )
        return _version(rows[0]) if rows else None

    def subjects(self, *, deleted: bool = False, prefix: str = "") -> list[str]:
        rows = self._rows(
            "SELECT DISTINCT subject FROM versions WHERE (? OR NOT deleted) AND substr(subject, 1, ?) = ? "
            "ORDER BY subject",
            deleted,
            len(prefix),
            prefix,
        )
        return [row[0] for row in rows]

    def subject_exists(self, subject: str, *, deleted: bool) -> bool:
        """Whether ``subject`` has a live version (or, with ``deleted``, any version at all)."""
        return bool(
            self._rows(
                "SELECT 1 FROM versions WHERE subject = ? AND (? OR NOT deleted) LIMIT 1", subject, deleted
            )
        )

    def schema(self, schema_id: int) -> tuple[str, str] | None:
        """(schema_type, schema) of an id still used by some version, soft-deleted ones included."""
        rows = self._rows(
            "SELECT s.schema_type, s.schema FROM schemas s WHERE s.id = ? AND EXISTS "
            "(SELECT 1 FROM versions v WHERE v.schema_id = s.id)",
            schema_id,
        )
        return rows[0] if rows else None

    def usages(self, schema_id: int, *, deleted: bool = False) -> list[tuple[str, int]]:
        """(subject, version) pairs that use ``schema_id``."""
        rows = self._rows(
            "SELECT subject, version FROM versions WHERE schema_id = ? AND (? OR NOT deleted) "
            "ORDER BY subject, version",
            schema_id,
            deleted,
        )
        return [(row[0], row[1]) for row in rows]

    def find(self, subject: str, schema: str, schema_type: str, *, deleted: bool = False) -> Version | None:
        """The newest version of ``subject`` whose schema is exactly ``schema``."""
        rows = self._rows(
            self._VERSION_SQL + "WHERE v.subject = ? AND s.schema = ? AND s.schema_type = ? "
            "AND (? OR NOT v.deleted) ORDER BY v.deleted, v.version DESC LIMIT 1",
            subject,
            schema,
            schema_type,
            deleted,
        )
        return _version(rows[0]) if rows else None

    def config(self, subject: str = GLOBAL) -> str | None:
        rows = self._rows("SELECT compatibility FROM config WHERE subject = ?", subject)
        return rows[0][0] if rows else None

    # -- writes ------------------------------------------------------------------------
    def register(
        self, subject: str, schema: str, schema_type: str, gate: CompatibilityGate
    ) -> tuple[Version, bool]:
        """Add ``schema`` as the next version unless it is already live; (version, created).

        ``gate`` sees the live versions inside the same transaction; any message it returns
        aborts with :class:`IncompatibleError`.
        """
        with self._write() as db:
            existing = self.find(subject, schema, schema_type)
            if existing is not None:
                return existing, False
            problems = gate(self.versions(subject))
            if problems:
                raise IncompatibleError(problems)
            row = db.execute(
                "SELECT id FROM schemas WHERE schema_type = ? AND schema = ?", (schema_type, schema)
            ).fetchone()
            if row is None:  # (INSERT OR IGNORE would burn an AUTOINCREMENT id when it ignores)
                row = db.execute(
                    "INSERT INTO schemas (schema_type, schema) VALUES (?, ?) RETURNING id",
                    (schema_type, schema),
                ).fetchone()
            schema_id = row[0]
            number = db.execute(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE subject = ?", (subject,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO versions (subject, version, schema_id) VALUES (?, ?, ?)",
                (subject, number, schema_id),
            )
            return Version(subject, number, schema_id, schema, schema_type, False), True

    def soft_delete(self, subject: str, versions: list[int]) -> None:
        with self._write() as db:
            db.executemany(
                "UPDATE versions SET deleted = 1 WHERE subject = ? AND version = ?",
                [(subject, v) for v in versions],
            )

    def hard_delete(self, subject: str, versions: list[int]) -> None:
        with self._write() as db:
            db.executemany(
                "DELETE FROM versions WHERE subject = ? AND version = ?", [(subject, v) for v in versions]
            )
            if not db.execute("SELECT 1 FROM versions WHERE subject = ? LIMIT 1", (subject,)).fetchone():
                db.execute("DELETE FROM config WHERE subject = ?", (subject,))

    def set_config(self, subject: str, compatibility: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO config (subject, compatibility) VALUES (?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET compatibility = excluded.compatibility",
                (subject, compatibility),
            )

    def delete_config(self, subject: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM config WHERE subject = ?", (subject,))


class IncompatibleError(Exception):
    """Registration refused by the compatibility gate."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
