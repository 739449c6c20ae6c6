"""The only writer of ``saved_plans``: the plans this store wrote (``plan --out``).

Why the store and not the file: a hash kept inside the file it covers proves nothing (an
edited file can be re-hashed). The store keeps each saved plan's sha256, when it was made
and until when it may be applied, so ``apply --plan`` runs only a document this store
wrote, unedited, within the lifetime the store gave it. ``record`` and ``get`` are the API
(``store.call(saved_plans.record, ...)`` or awaited with ``store.run``); the write appends
its audit entry in the same step.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.store import audit_log
from governor.store.audit_log import DEFAULT_ACTOR, NewEntry
from governor.store.connection import rows, write
from governor.store.encoding import encode_time
from governor.store.errors import StoreError

SHA256_LENGTH = 64


@dataclass(frozen=True)
class SavedPlanRecord:
    """One row of ``saved_plans``; times are stored UTC text."""

    sha256: str
    run_id: int | None
    created_at: str
    expires_at: str
    created_by: str
    item_count: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SavedPlanRecord:
        return cls(
            sha256=row["sha256"],
            run_id=row["run_id"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            created_by=row["created_by"],
            item_count=row["item_count"],
        )


def record(
    connection: sqlite3.Connection,
    sha256: str,
    *,
    created_at: datetime,
    expires_at: datetime,
    item_count: int,
    run_id: int | None = None,
    actor: str = DEFAULT_ACTOR,
) -> bool:
    """Keep a plan this store is about to write, with its audit entry; True when it was new."""
    kept = SavedPlanRecord(
        sha256=sha256,
        run_id=run_id,
        created_at=encode_time(created_at, what="created_at"),
        expires_at=encode_time(expires_at, what="expires_at"),
        created_by=actor,
        item_count=item_count,
    )
    with write(connection):
        return _insert(connection, kept)


def _insert(connection: sqlite3.Connection, record: SavedPlanRecord) -> bool:
    """Keep ``record``; False when this hash was already kept (the same document again)."""
    if len(record.sha256) != SHA256_LENGTH or not all(
        c in "0123456789abcdef" for c in record.sha256
    ):
        raise StoreError("saved plan: sha256 must be 64 lowercase hex digits")
    cursor = connection.execute(
        "INSERT OR IGNORE INTO saved_plans "
        "(sha256, run_id, created_at, expires_at, created_by, item_count) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            record.sha256,
            record.run_id,
            record.created_at,
            record.expires_at,
            record.created_by,
            record.item_count,
        ],
    )
    if cursor.rowcount != 1:
        return False
    details = {"expires_at": record.expires_at, "items": record.item_count}
    entry = NewEntry(
        record.created_at,
        record.run_id,
        record.created_by,
        "plan_saved",
        f"plan {record.sha256[:16]}",
        details,
    )
    audit_log.append(connection, entry)
    return True


def get(connection: sqlite3.Connection, sha256: str) -> SavedPlanRecord | None:
    """The plan with this hash, if this store wrote it."""
    found = rows(connection, "SELECT * FROM saved_plans WHERE sha256 = ?", [sha256])
    return SavedPlanRecord.from_row(found[0]) if found else None
