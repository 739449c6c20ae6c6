"""The only writer of ``runs``: a run starts ``running`` and ends once, in one of four ways.

``finished`` (finish_run), ``failed`` (fail_run: the pipeline caught an error),
``cancelled`` (fail_run: a stop abandoned the sweep while it was only reading) or
``abandoned`` (the daemon found it still running at start: a crash left it behind). Every
end is a compare-and-set on ``status = 'running'``, so a run never ends twice and a late
writer (a process that was thought dead) cannot revive one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Literal

from governor.store.connection import rows
from governor.store.encoding import encode_json
from governor.store.errors import NotFound, StoreError
from governor.store.records import RunRecord

_OPEN = "running"


def start(connection: sqlite3.Connection, trigger: str, at: str) -> int:
    cursor = connection.execute(
        "INSERT INTO runs (trigger, started_at, status) VALUES (?, ?, ?)", [trigger, at, _OPEN]
    )
    if cursor.lastrowid is None:  # pragma: no cover - sqlite3 always sets it after an INSERT
        raise StoreError("start_run: the database returned no run id")
    return cursor.lastrowid


def get(connection: sqlite3.Connection, run_id: int) -> RunRecord:
    found = rows(connection, "SELECT * FROM runs WHERE id = ?", [run_id])
    if not found:
        raise NotFound(f"no run with id {run_id}")
    return RunRecord.from_row(found[0])


def latest(connection: sqlite3.Connection, limit: int) -> list[RunRecord]:
    found = rows(connection, "SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit])
    return [RunRecord.from_row(row) for row in found]


def require_running(connection: sqlite3.Connection, run_id: int, operation: str) -> None:
    found = connection.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchone()
    if found is None:
        raise StoreError(f"{operation}: no run with id {run_id}")
    if found[0] != _OPEN:
        raise StoreError(f"{operation}: run {run_id} already {found[0]}")


def set_incomplete_parts(connection: sqlite3.Connection, run_id: int, parts_json: str) -> None:
    connection.execute("UPDATE runs SET incomplete_parts = ? WHERE id = ?", [parts_json, run_id])


def set_findings_summary(
    connection: sqlite3.Connection,
    run_id: int,
    *,
    policies: Sequence[str],
    seen: int,
    opened: int,
    reopened: int,
    resolved: int,
) -> None:
    connection.execute(
        "UPDATE runs SET policies_evaluated = ?, findings_seen = ?, findings_opened = ?, "
        "findings_reopened = ?, findings_resolved = ? WHERE id = ?",
        [
            encode_json(list(policies), what="policies evaluated"),
            seen,
            opened,
            reopened,
            resolved,
            run_id,
        ],
    )


def finish(
    connection: sqlite3.Connection,
    run_id: int,
    *,
    at: str,
    complete: bool,
    requests: int,
    parts_json: str,
) -> None:
    require_running(connection, run_id, "finish_run")
    connection.execute(
        "UPDATE runs SET status = 'finished', finished_at = ?, complete = ?, requests = ?, "
        "incomplete_parts = ? WHERE id = ? AND status = ?",
        [at, int(complete), requests, parts_json, run_id, _OPEN],
    )


def fail(
    connection: sqlite3.Connection,
    run_id: int,
    *,
    at: str,
    reason: str,
    status: Literal["failed", "cancelled"] = "failed",
) -> bool:
    """Mark a running run failed (or cancelled: a stop abandoned it); False when it had ended."""
    cursor = connection.execute(
        "UPDATE runs SET status = ?, finished_at = ?, complete = 0, failure_reason = ? "
        "WHERE id = ? AND status = ?",
        [status, at, reason, run_id, _OPEN],
    )
    if cursor.rowcount == 0:
        get(connection, run_id)  # raises when there is no such run
    return cursor.rowcount == 1


def abandon_running(
    connection: sqlite3.Connection, *, at: str, reason: str, started_before: str
) -> list[int]:
    """Every run still running that started before ``started_before``: now abandoned."""
    found = connection.execute(
        "SELECT id FROM runs WHERE status = ? AND started_at < ? ORDER BY id",
        [_OPEN, started_before],
    ).fetchall()
    run_ids = [run_id for (run_id,) in found]
    connection.executemany(
        "UPDATE runs SET status = 'abandoned', finished_at = ?, complete = 0, "
        "failure_reason = ? WHERE id = ? AND status = ?",
        [(at, reason, run_id, _OPEN) for run_id in run_ids],
    )
    return run_ids
