"""The only writer of ``consumption_buckets`` and ``consumption_reads``: Neon's meters,
kept past Neon's lookback, and each read of them with how it went.

Why reads are recorded: Neon omits zero metrics, so an absent row means 0 only inside a
window a read covered (``outcome`` ok); a window refused (403: Free or legacy plan) or
failed is "not read", and the bill says its coverage is partial instead of pricing 0.
Re-reading a window is idempotent: each (org, project, branch, granularity, timeframe,
period, metric) is one row, replaced by the latest read. Rows age out after ``[consumption]
keep`` (``forget_before``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from governor.costs.calibrate import Calibration, calibrate, root_logical_sizes
from governor.model.consumption import ROOT_BRANCH_BYTES_MONTH, Bucket, Granularity
from governor.savings.usage import Usage
from governor.store.connection import rows, write
from governor.store.encoding import decode_time, encode_time
from governor.store.errors import StoreError, one_line

Scope = Literal["projects", "branches"]
Outcome = Literal["ok", "refused", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "refused", "failed")
MESSAGE_CHARS = 500
CALIBRATION_DAYS = 3  # the last complete day is within them
USAGE_HOURS = 169  # the estimates' 168 complete hours
USAGE_DAYS = 31

_UPSERT = (
    "INSERT INTO consumption_buckets (org_id, project_id, branch_id, granularity, start_at, "
    "end_at, period_id, period_plan, metric, value, read_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (org_id, project_id, branch_id, granularity, start_at, period_id, metric) "
    "DO UPDATE SET end_at = excluded.end_at, period_plan = excluded.period_plan, "
    "value = excluded.value, read_at = excluded.read_at"
)


@dataclass(frozen=True)
class ConsumptionRead:
    """One read of one organization's meters over [start, end)."""

    id: int
    org_id: str
    scope: Scope
    granularity: Granularity
    start: datetime
    end: datetime
    read_at: datetime
    outcome: Outcome
    message: str | None
    rows: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ConsumptionRead:
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            scope=row["scope"],
            granularity=row["granularity"],
            start=decode_time(row["start_at"]),
            end=decode_time(row["end_at"]),
            read_at=decode_time(row["read_at"]),
            outcome=row["outcome"],
            message=row["message"],
            rows=row["rows"],
        )


def _encoded(bucket: Bucket, read_at: str) -> tuple[Any, ...]:
    return (
        bucket.org_id,
        bucket.project_id,
        bucket.branch_id or "",
        bucket.granularity,
        encode_time(bucket.start, what="bucket start"),
        encode_time(bucket.end, what="bucket end"),
        bucket.period_id or "",
        bucket.period_plan,
        bucket.metric,
        bucket.value,
        read_at,
    )


def write_buckets(
    connection: sqlite3.Connection, buckets: Iterable[Bucket], read_at: datetime
) -> int:
    """Upsert ``buckets`` (a re-read replaces the value); returns how many were written."""
    at = encode_time(read_at, what="read_at")
    encoded = [_encoded(bucket, at) for bucket in buckets]
    with write(connection):
        connection.executemany(_UPSERT, encoded)
    return len(encoded)


def record_read(
    connection: sqlite3.Connection,
    *,
    org_id: str,
    scope: Scope,
    granularity: Granularity,
    start: datetime,
    end: datetime,
    read_at: datetime,
    outcome: Outcome,
    message: str | None = None,
    rows_read: int = 0,
) -> int:
    """Record one read and how it went; returns its id."""
    if outcome not in OUTCOMES:
        raise StoreError(f"record_read: outcome must be one of {', '.join(OUTCOMES)}")
    text = None if message is None else one_line(message)[:MESSAGE_CHARS]
    with write(connection):
        cursor = connection.execute(
            "INSERT INTO consumption_reads (org_id, scope, granularity, start_at, end_at, "
            "read_at, outcome, message, rows) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                org_id,
                scope,
                granularity,
                encode_time(start, what="start"),
                encode_time(end, what="end"),
                encode_time(read_at, what="read_at"),
                outcome,
                text,
                rows_read,
            ],
        )
    if cursor.lastrowid is None:  # pragma: no cover - sqlite3 always sets it after an INSERT
        raise StoreError("record_read: the database returned no id")
    return cursor.lastrowid


def reads(
    connection: sqlite3.Connection,
    *,
    org_id: str | None = None,
    scope: Scope | None = None,
    granularity: Granularity | None = None,
    since: datetime | None = None,
) -> list[ConsumptionRead]:
    """Recorded reads, oldest first."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("org_id", org_id), ("scope", scope), ("granularity", granularity)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        clauses.append("read_at >= ?")
        params.append(encode_time(since, what="since"))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    found = rows(
        connection, f"SELECT * FROM consumption_reads {where} ORDER BY read_at, id", params
    )
    return [ConsumptionRead.from_row(row) for row in found]


def buckets(
    connection: sqlite3.Connection,
    *,
    org_id: str | None = None,
    project_id: str | None = None,
    branch_id: str | Literal["any"] | None = None,
    granularity: Granularity,
    start: datetime,
    end: datetime,
    metrics: Sequence[str] | None = None,
) -> list[Bucket]:
    """Rows whose timeframe starts in [start, end), oldest first.

    ``branch_id``: None for project rows only, an id for that branch's, ``"any"`` for
    every branch's rows (never the project rows).
    """
    clauses = ["granularity = ?", "start_at >= ?", "start_at < ?"]
    params: list[Any] = [
        granularity,
        encode_time(start, what="start"),
        encode_time(end, what="end"),
    ]
    if org_id is not None:
        clauses.append("org_id = ?")
        params.append(org_id)
    if project_id is not None:
        clauses.append("project_id = ?")
        params.append(project_id)
    if branch_id == "any":
        clauses.append("branch_id != ''")
    else:
        clauses.append("branch_id = ?")
        params.append(branch_id or "")
    if metrics is not None:
        clauses.append(f"metric IN ({', '.join('?' for _ in metrics)})")
        params.extend(metrics)
    found = rows(
        connection,
        f"SELECT * FROM consumption_buckets WHERE {' AND '.join(clauses)} "
        "ORDER BY start_at, project_id, branch_id, period_id, metric",
        params,
    )
    return [_bucket(row) for row in found]


def _bucket(row: dict[str, Any]) -> Bucket:
    return Bucket(
        org_id=row["org_id"],
        project_id=row["project_id"],
        branch_id=row["branch_id"] or None,
        granularity=row["granularity"],
        start=decode_time(row["start_at"]),
        end=decode_time(row["end_at"]),
        period_id=row["period_id"] or None,
        period_plan=row["period_plan"],
        metric=row["metric"],
        value=row["value"],
    )


def forget_before(connection: sqlite3.Connection, cutoff: datetime) -> int:
    """Drop rows whose timeframe ended, and reads made, before ``cutoff``; returns rows dropped."""
    at = encode_time(cutoff, what="cutoff")
    with write(connection):
        dropped = connection.execute(
            "DELETE FROM consumption_buckets WHERE end_at < ?", [at]
        ).rowcount
        connection.execute("DELETE FROM consumption_reads WHERE read_at < ?", [at])
    return dropped


def root_sizes(connection: sqlite3.Connection) -> dict[str, dict[str, int | None]]:
    """Each organization's one-root projects and their root branch's ``logical_size``, from
    the latest sweep kept in the store (the calibration's ``L``)."""
    project_orgs = {
        row["resource_id"]: row["org_id"]
        for row in rows(
            connection,
            "SELECT resource_id, org_id FROM resources "
            "WHERE resource_type = 'project' AND gone_at IS NULL",
        )
    }
    found = rows(
        connection,
        "SELECT project_id, json_extract(raw, '$.parent_id') AS parent_id, "
        "json_extract(raw, '$.logical_size') AS logical_size FROM resources "
        "WHERE resource_type = 'branch' AND gone_at IS NULL",
    )
    branches = [
        (
            str(row["project_id"]),
            row["parent_id"] if isinstance(row["parent_id"], str) else None,
            row["logical_size"] if isinstance(row["logical_size"], int) else None,
        )
        for row in found
    ]
    return root_logical_sizes(project_orgs, branches)


def calibrations(
    connection: sqlite3.Connection,
    now: datetime,
    sizes: Mapping[str, Mapping[str, int | None]] | None = None,
) -> dict[str, Calibration]:
    """Each organization's storage unit, from its daily rows of the last few days and the
    root sizes (``sizes``; None: the store's latest sweep)."""
    known = root_sizes(connection) if sizes is None else sizes
    recent = buckets(
        connection,
        granularity="daily",
        start=now - timedelta(days=CALIBRATION_DAYS),
        end=now,
        metrics=[ROOT_BRANCH_BYTES_MONTH],
    )
    orgs = {row.org_id for row in recent} | set(known)
    return {
        org_id: calibrate(
            org_id,
            [row for row in recent if row.org_id == org_id],
            known.get(org_id, {}),
            now=now,
        )
        for org_id in sorted(orgs)
    }


def usage_for(
    connection: sqlite3.Connection,
    now: datetime,
    sizes: Mapping[str, Mapping[str, int | None]] | None = None,
) -> Usage:
    """The savings estimates' view of the meters: branch and project rows of the last week
    (hourly) and month (daily), with each organization's calibrated storage unit (project
    rows price restore windows, snapshots, whole projects and plan fit)."""
    kept: list[Bucket] = []
    for branch in ("any", None):
        kept += buckets(
            connection,
            branch_id=branch,
            granularity="hourly",
            start=now - timedelta(hours=USAGE_HOURS),
            end=now,
        )
        kept += buckets(
            connection,
            branch_id=branch,
            granularity="daily",
            start=now - timedelta(days=USAGE_DAYS),
            end=now,
        )
    units = {org_id: found.unit for org_id, found in calibrations(connection, now, sizes).items()}
    return Usage(kept, now, units)
