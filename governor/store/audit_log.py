"""The only writer of ``audit_log``: append entries, read them back; nothing else.

Why one module: the log is append-only (triggers refuse UPDATE and DELETE), and every
store step that changes something appends here inside the same transaction, so the log
and the change commit or roll back together. Other modules hand over ``NewEntry`` values.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from governor.store.connection import rows, write
from governor.store.encoding import encode_json, encode_time
from governor.store.errors import StoreError
from governor.store.records import AuditEntry

DEFAULT_ACTOR = "governor"  # entries the governor writes on its own account
_INSERT = (
    "INSERT INTO audit_log (at, run_id, actor, event, subject, details) VALUES (?, ?, ?, ?, ?, ?)"
)


class NewEntry(NamedTuple):
    """An entry to append (a tuple: one is made per opened finding, 100,000 at a time)."""

    at: str
    run_id: int | None
    actor: str
    event: str
    subject: str
    details: dict[str, Any]

    def values(self) -> tuple[Any, ...]:
        details = encode_json(self.details, what=f"audit {self.event} {self.subject}: details")
        return (self.at, self.run_id, self.actor, self.event, self.subject, details)


def append(connection: sqlite3.Connection, entry: NewEntry) -> int:
    """Append one entry; returns its id."""
    cursor = connection.execute(_INSERT, entry.values())
    return int(cursor.lastrowid or 0)


def record(
    connection: sqlite3.Connection,
    event: str,
    subject: str,
    details: dict[str, Any],
    *,
    actor: str,
    run_id: int | None = None,
    at: datetime | None = None,
) -> int:
    """Append one entry as its own write step (never changed or removed afterwards); its id."""
    if not event or not subject or not actor:
        raise StoreError("audit: event, subject and actor must be non-empty")
    moment = encode_time(at or datetime.now(UTC), what="at")
    with write(connection):
        return append(connection, NewEntry(moment, run_id, actor, event, subject, details))


def append_all(connection: sqlite3.Connection, entries: Iterable[NewEntry]) -> None:
    connection.executemany(_INSERT, [entry.values() for entry in entries])


def append_encoded(connection: sqlite3.Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    """Append entries already turned into rows by ``NewEntry.values`` (at 100,000 entries,
    holding text instead of details dicts spares the garbage collector)."""
    connection.executemany(_INSERT, rows)


def entries(
    connection: sqlite3.Connection, *, run_id: int | None = None, subject: str | None = None
) -> list[AuditEntry]:
    """Entries in the order they were written."""
    clauses: list[str] = []
    params: list[Any] = []
    if run_id is not None:
        clauses.append("run_id = ?")
        params.append(run_id)
    if subject is not None:
        clauses.append("subject = ?")
        params.append(subject)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    found = rows(connection, f"SELECT * FROM audit_log {where} ORDER BY id", params)
    return [AuditEntry.from_row(row) for row in found]
