"""StoreError, and one-line messages for what sqlite3 raises about a file.

Why here: a bad store file (garbage, read-only, locked, a missing directory) is a setup
problem the person can fix, so the CLI prints one line naming the file and exits; a
traceback from deep inside sqlite3 would say neither what nor where.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

MEMORY = ":memory:"


class StoreError(Exception):
    """The store cannot do what was asked; the message names the file or record and why."""


class NotFound(StoreError):
    """No record with the id asked for; the store's guard adds which file was asked."""


def where_of(path: str | Path) -> str:
    """How messages name the store: its path, or "in-memory store"."""
    return "in-memory store" if str(path) == MEMORY else str(path)


def one_line(text: str) -> str:
    return " ".join(text.split())


def database_error(
    where: str, error: sqlite3.Error, *, busy_timeout_seconds: float, read_only: bool = False
) -> StoreError:
    """The StoreError for a sqlite3 error: ``<file>: <what is wrong>``, on one line."""
    return StoreError(
        one_line(f"{where}: {_problem(where, error, busy_timeout_seconds, read_only)}")
    )


def _problem(where: str, error: sqlite3.Error, busy_timeout_seconds: float, read_only: bool) -> str:
    detail = str(error) or type(error).__name__
    code = getattr(error, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return (
            f"locked by another process (still busy after the {busy_timeout_seconds:g} s "
            "busy timeout); try again when it finishes"
        )
    if code == sqlite3.SQLITE_READONLY_DIRECTORY:
        return (
            f"cannot use it: its directory {Path(where).parent} is read-only, and SQLite "
            "keeps the database's -wal and -shm files there"
        )
    if primary == sqlite3.SQLITE_READONLY and code != sqlite3.SQLITE_READONLY:
        return f"cannot use its -wal and -shm files: {_why_not_writable(where)} ({detail})"
    if primary == sqlite3.SQLITE_READONLY:
        if read_only:
            return "opened read-only, so it cannot be written; open it read-write to change it"
        return f"cannot write: {_why_not_writable(where)} ({detail})"
    if primary == sqlite3.SQLITE_NOTADB:
        return f"not a SQLite database, or corrupt ({detail})"
    if primary == sqlite3.SQLITE_CORRUPT:
        return f"the database file is corrupt ({detail}); restore it or move it aside"
    if primary == sqlite3.SQLITE_CANTOPEN:
        return f"cannot open the file: {_why_not_openable(where)} ({detail})"
    if primary == sqlite3.SQLITE_FULL:
        return f"the disk is full ({detail})"
    if primary in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH):
        return f"cannot read or write the file ({detail})"
    if primary == sqlite3.SQLITE_CONSTRAINT:
        return f"refused by the schema ({detail})"
    if isinstance(error, sqlite3.ProgrammingError) and "closed" in detail:
        return "the store is closed"
    return f"database error ({detail})"


def _why_not_writable(where: str) -> str:
    path = Path(where)
    if where == "in-memory store":
        return "the database is read-only"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is read-only"
    if not os.access(path.parent, os.W_OK):
        return f"its directory {path.parent} is read-only"
    return "the file or its directory is read-only"


def _why_not_openable(where: str) -> str:
    path = Path(where)
    if not path.parent.is_dir():
        return f"directory {path.parent} does not exist"
    if path.is_dir():
        return "it is a directory"
    if path.exists() and not os.access(path, os.R_OK):
        return "the file is not readable"
    if not os.access(path.parent, os.W_OK):
        return f"its directory {path.parent} is read-only"
    return "check that it and its directory exist and are readable and writable"
