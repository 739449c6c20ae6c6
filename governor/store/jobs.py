"""The only writer of ``job_runs``: one row per scheduled job execution, for catch-up and status.

Why our own table and not an APScheduler job store: schedules come from the config, so only
"when did this job last run, and how did it end" needs to survive a restart. A row starts
with ``outcome`` NULL and ends once (compare-and-set on ``outcome IS NULL``), like a run.
The functions are the API: ``store.call(job_runs.start, ...)`` / ``await store.run(...)``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.store.connection import rows, write
from governor.store.encoding import encode_time
from governor.store.errors import StoreError, one_line

JOB_OUTCOMES = ("succeeded", "incomplete", "failed", "cancelled", "abandoned")


@dataclass(frozen=True)
class JobRunRecord:
    """One row of ``job_runs``: times as stored UTC text; ``outcome`` None while running."""

    id: int
    job: str
    scheduled_for: str
    started_at: str
    finished_at: str | None
    outcome: str | None
    run_id: int | None
    detail: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> JobRunRecord:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


def start(
    connection: sqlite3.Connection, job: str, *, scheduled_for: datetime, started_at: datetime
) -> int:
    """A job run begins; returns its row id (``end`` it once)."""
    due = encode_time(scheduled_for, what="scheduled_for")
    at = encode_time(started_at, what="started_at")
    with write(connection):
        cursor = connection.execute(
            "INSERT INTO job_runs (job, scheduled_for, started_at) VALUES (?, ?, ?)",
            [job, due, at],
        )
    if cursor.lastrowid is None:  # pragma: no cover - sqlite3 always sets it after an INSERT
        raise StoreError("record_job_start: the database returned no id")
    return cursor.lastrowid


def end(
    connection: sqlite3.Connection,
    job_run_id: int,
    *,
    finished_at: datetime,
    outcome: str,
    run_id: int | None = None,
    detail: str | None = None,
) -> bool:
    """End a running row; False when it had already ended (a late writer changes nothing)."""
    at = encode_time(finished_at, what="finished_at")
    text = None if detail is None else one_line(detail)
    with write(connection):
        if outcome not in JOB_OUTCOMES:
            raise StoreError(f"record_job_end: outcome must be one of {', '.join(JOB_OUTCOMES)}")
        cursor = connection.execute(
            "UPDATE job_runs SET finished_at = ?, outcome = ?, run_id = ?, detail = ? "
            "WHERE id = ? AND outcome IS NULL",
            [at, outcome, run_id, text, job_run_id],
        )
        if cursor.rowcount == 0 and not rows(
            connection, "SELECT id FROM job_runs WHERE id = ?", [job_run_id]
        ):
            raise StoreError(f"record_job_end: no job run with id {job_run_id}")
    return cursor.rowcount == 1


def latest_per_job(connection: sqlite3.Connection) -> list[JobRunRecord]:
    """The latest run of every job, by job name."""
    found = rows(
        connection,
        "SELECT * FROM job_runs WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job) "
        "ORDER BY job",
    )
    return [JobRunRecord.from_row(row) for row in found]
