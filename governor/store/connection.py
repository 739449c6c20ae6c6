"""Open the SQLite file the way the store needs it: WAL, foreign keys, a busy timeout, migrated.

Why our own connection: ``sqlite3.connect`` is where the busy timeout is set (the daemon
and the audit CLI may write at the same time), and where a read-only URI is possible for
commands that only report. ``isolation_level=None``: the store says BEGIN and COMMIT
itself, so sqlite3 never opens a transaction behind its back. A connection is used from
the thread that opened it only (sqlite3 checks): ``Store`` gives it a thread of its own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from governor.store.errors import MEMORY, StoreError, database_error, where_of
from governor.store.migrations import MIGRATION_SET, known_migration_names, migrations

__all__ = ["MEMORY", "StoreError", "applied_migrations", "open_connection", "rows"]


def open_connection(
    path: str | Path, *, busy_timeout_seconds: float, read_only: bool = False
) -> sqlite3.Connection:
    """Connect, set the pragmas and bring the schema up to date (read-only: check it is)."""
    if busy_timeout_seconds < 0:
        raise StoreError(f"busy timeout must be >= 0 seconds, got {busy_timeout_seconds}")
    in_memory = str(path) == MEMORY
    if read_only and in_memory:
        raise StoreError("an in-memory store cannot be opened read-only")
    where = where_of(path)
    if not in_memory:
        _check_path(Path(path), where, read_only=read_only)
    try:
        connection = _connect(path, busy_timeout_seconds, read_only=read_only)
    except sqlite3.Error as error:
        raise database_error(where, error, busy_timeout_seconds=busy_timeout_seconds) from error
    try:
        _prepare(connection, where, busy_timeout_seconds, in_memory=in_memory, read_only=read_only)
    except sqlite3.Error as error:
        connection.close()
        raise database_error(
            where, error, busy_timeout_seconds=busy_timeout_seconds, read_only=read_only
        ) from error
    except BaseException:
        connection.close()
        raise
    return connection


def _check_path(path: Path, where: str, *, read_only: bool) -> None:
    if not path.parent.is_dir():
        raise StoreError(f"{where}: directory {path.parent} does not exist")
    if path.is_dir():
        raise StoreError(f"{where}: is a directory, not a database file")
    if read_only and not path.is_file():
        raise StoreError(f"{where}: no such file (a read-only store is never created)")


def _connect(
    path: str | Path, busy_timeout_seconds: float, *, read_only: bool
) -> sqlite3.Connection:
    if read_only:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=busy_timeout_seconds, isolation_level=None)
    return sqlite3.connect(str(path), timeout=busy_timeout_seconds, isolation_level=None)


def _prepare(
    connection: sqlite3.Connection,
    where: str,
    busy_timeout_seconds: float,
    *,
    in_memory: bool,
    read_only: bool,
) -> None:
    connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_seconds * 1000)}")
    connection.execute("PRAGMA foreign_keys = ON")
    if not in_memory and not read_only:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
        if mode != "wal":
            connection.execute("PRAGMA journal_mode = WAL")
    db = Database(connection, execute_plugins=False)
    _check_not_newer(db, where)
    pending = [migration.name for migration in migrations.pending(db)]
    if not pending:
        return
    if read_only:
        raise StoreError(
            f"{where}: schema needs migrations {', '.join(pending)}; "
            "open it once read-write (for example with an audit run) to upgrade it"
        )
    # Under the write lock, so two processes opening an old file do not both migrate it.
    connection.execute("BEGIN IMMEDIATE")
    try:
        _check_not_newer(db, where)
        migrations.apply(db)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


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


def applied_migrations(connection: sqlite3.Connection) -> list[str]:
    return [
        migration.name
        for migration in migrations.applied(Database(connection, execute_plugins=False))
    ]


def rows(
    connection: sqlite3.Connection, sql: str, parameters: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    """A query's rows as dicts keyed by column name."""
    cursor = connection.execute(sql, parameters)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


@contextmanager
def write(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic write step, holding the write lock from its start (``BEGIN IMMEDIATE``):
    a concurrent writer makes it wait rather than fail halfway; an error leaves none of it."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
