"""Open the SQLite file the way the store needs it: WAL, foreign keys, a busy timeout, migrated.

Why our own connection: ``sqlite3.connect`` is where the busy timeout is set (the daemon
and the audit CLI may write at the same time), and where a read-only URI is possible for
commands that only report. One connection per thread: use the store from one thread only.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlite_utils import Database

from governor.store.migrations import MIGRATION_SET, known_migration_names, migrations

MEMORY = ":memory:"


class StoreError(Exception):
    """The store cannot do what was asked; the message names the file or record and why."""


def open_database(
    path: str | Path, *, busy_timeout_seconds: float, read_only: bool = False
) -> Database:
    """Connect, set the pragmas and bring the schema up to date (read-only: check it is)."""
    if busy_timeout_seconds < 0:
        raise StoreError(f"busy timeout must be >= 0 seconds, got {busy_timeout_seconds}")
    in_memory = str(path) == MEMORY
    if read_only and in_memory:
        raise StoreError("an in-memory store cannot be opened read-only")
    where = "in-memory store" if in_memory else str(path)
    try:
        connection = _connect(path, busy_timeout_seconds, read_only=read_only)
    except sqlite3.Error as error:
        raise StoreError(f"{where}: cannot open the database file: {error}") from error
    db = Database(connection)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
        db.execute("PRAGMA foreign_keys = ON")
        if not in_memory and not read_only:
            db.enable_wal()
        _check_not_newer(db, where)
        pending = [migration.name for migration in migrations.pending(db)]
        if read_only:
            if pending:
                raise StoreError(
                    f"{where}: schema needs migrations {', '.join(pending)}; "
                    "open it once read-write (for example with an audit run) to upgrade it"
                )
        elif pending:
            migrations.apply(db)
    except sqlite3.DatabaseError as error:
        db.close()
        raise StoreError(f"{where}: not a usable neon-governor database: {error}") from error
    except StoreError:
        db.close()
        raise
    return db


def _connect(
    path: str | Path, busy_timeout_seconds: float, *, read_only: bool
) -> sqlite3.Connection:
    if str(path) == MEMORY:
        return sqlite3.connect(MEMORY, timeout=busy_timeout_seconds)
    file_path = Path(path)
    if not file_path.parent.is_dir():
        raise sqlite3.OperationalError(f"directory {file_path.parent} does not exist")
    if read_only:
        if not file_path.is_file():
            raise sqlite3.OperationalError("no such file")
        uri = f"{file_path.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=busy_timeout_seconds)
    return sqlite3.connect(str(file_path), timeout=busy_timeout_seconds)


def _check_not_newer(db: Database, where: str) -> None:
    known = set(known_migration_names())
    unknown = [
        migration.name for migration in migrations.applied(db) if migration.name not in known
    ]
    if unknown:
        raise StoreError(
            f"{where}: written by a newer neon-governor (unknown migrations "
            f"{', '.join(unknown)} in set {MIGRATION_SET!r}); upgrade neon-governor"
        )


def applied_migrations(db: Database) -> list[str]:
    return [migration.name for migration in migrations.applied(db)]
