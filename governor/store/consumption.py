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
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from governor.costs.calibrate import Calibration, calibrate, root_logical_sizes
from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    COMPUTE_UNIT_SECONDS,
    EXTRA_BRANCHES_MONTH,
    ROOT_BRANCH_BYTES_MONTH,
    Bucket,
    Granularity,
    StorageUnit,
)
from governor.neon.consumption import MeterRow, time_key
from governor.savings.usage import Usage, UsageParts, hourly, windows
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

# A re-read (every audit re-reads the last 168 hours) changes a row only where Neon's value
# did: an unchanged row is found and left alone (its read_at: when its value was last
# written), so a read's writes are its new and revised rows, not the history kept.
_UPSERT = (
    "INSERT INTO consumption_buckets (project_id, branch_id, start_at, end_at, period_id, "
    "period_plan, metric, value, org_id, granularity, read_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (org_id, project_id, branch_id, granularity, start_at, period_id, metric) "
    "DO UPDATE SET end_at = excluded.end_at, period_plan = excluded.period_plan, "
    "value = excluded.value, read_at = excluded.read_at "
    "WHERE consumption_buckets.value != excluded.value "
    "OR consumption_buckets.end_at != excluded.end_at "
    "OR consumption_buckets.period_plan IS NOT excluded.period_plan"
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


def write_rows(
    connection: sqlite3.Connection,
    org_id: str,
    granularity: Granularity,
    meter_rows: Iterable[MeterRow],
    read_at: datetime,
) -> int:
    """Upsert one read's lean rows (``MeterRow``: the reader's tuples, times already keyed);
    returns how many rows were added or changed (an unchanged row is not rewritten)."""
    tail = (org_id, granularity, encode_time(read_at, what="read_at"))
    with write(connection):
        before = connection.total_changes
        connection.executemany(_UPSERT, (row + tail for row in meter_rows))
        return connection.total_changes - before


def write_buckets(
    connection: sqlite3.Connection, buckets: Iterable[Bucket], read_at: datetime
) -> int:
    """Upsert ``buckets`` (a re-read replaces a changed value); returns how many rows were
    added or changed."""
    at = encode_time(read_at, what="read_at")
    encoded = [
        (
            bucket.project_id,
            bucket.branch_id or "",
            encode_time(bucket.start, what="bucket start"),
            encode_time(bucket.end, what="bucket end"),
            bucket.period_id or "",
            bucket.period_plan,
            bucket.metric,
            bucket.value,
            bucket.org_id,
            bucket.granularity,
            at,
        )
        for bucket in buckets
    ]
    with write(connection):
        before = connection.total_changes
        connection.executemany(_UPSERT, encoded)
        return connection.total_changes - before


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
    orgs = [org_id] if org_id is not None else org_ids(connection)
    if not orgs:
        return []
    # by organization, so SQLite seeks its time index or primary key, never scans history
    clauses.append(f"org_id IN ({', '.join('?' for _ in orgs)})")
    params.extend(orgs)
    if project_id is not None:
        clauses.append("project_id = ?")
        params.append(project_id)
    if branch_id == "any" and project_id is not None:
        # the project's branches by name, so each is a primary-key seek into the window
        # (``branch_id != ''`` would read every branch row the project ever kept)
        ids = sorted(
            {
                found
                for org in orgs
                for found in _next_ids(
                    connection, "branch_id", "org_id = ? AND project_id = ?", [org, project_id]
                )
            }
        )
        if not ids:
            return []
        clauses.append(f"branch_id IN ({', '.join('?' for _ in ids)})")
        params.extend(ids)
    elif branch_id == "any":
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


def org_ids(connection: sqlite3.Connection) -> list[str]:
    """The organizations with rows, one index seek each (not a scan of the rows kept)."""
    found: list[str] = []
    while True:
        after = found[-1] if found else ""
        (org_id,) = connection.execute(
            "SELECT min(org_id) FROM consumption_buckets WHERE org_id > ?", [after]
        ).fetchone()
        if org_id is None:
            return found
        found.append(org_id)


def _next_ids(
    connection: sqlite3.Connection, column: str, where: str, params: list[Any]
) -> list[str]:
    """The distinct ``column`` values under a primary-key prefix, one seek each (a loose
    index scan: the rows under each value are never read)."""
    found: list[str] = []
    while True:
        (value,) = connection.execute(
            f"SELECT min({column}) FROM consumption_buckets WHERE {where} AND {column} > ?",
            [*params, found[-1] if found else ""],
        ).fetchone()
        if value is None:
            return found
        found.append(value)


USAGE_PROJECTS_PER_QUERY = 500  # ids bound per IN (...), well under SQLite's 32,766


class _UsageQuery:
    """The SQL behind ``usage_for``: sums of the rows inside the estimates' windows, by
    organization and (``scope``) project or branch ids, so SQLite reads only those rows
    (through its time index per organization, or the primary key per project and branch)
    and Python sees a few numbers per project and branch, never a row per reading."""

    def __init__(self, connection: sqlite3.Connection, now: datetime, parts: UsageParts) -> None:
        self.connection = connection
        self.parts = parts
        hourly_start, hourly_end, daily_start, daily_end = windows(now)
        self.windows: dict[str, list[str]] = {
            "hourly": [time_key(hourly_start), time_key(hourly_end), time_key(hourly_end)],
            "daily": [time_key(daily_start), time_key(daily_end), time_key(daily_end)],
        }

    def _rows(
        self, select: str, granularity: str, scope: str, params: list[Any], tail: str = ""
    ) -> list[tuple[Any, ...]]:
        return self.connection.execute(
            f"SELECT {select} FROM consumption_buckets WHERE {scope} AND granularity = ? "
            f"AND start_at >= ? AND start_at < ? AND end_at <= ? {tail}",
            [*params, granularity, *self.windows[granularity]],
        ).fetchall()

    def projects(self, org_id: str, scope: str, params: list[Any]) -> None:
        """Project rows (``branch_id`` ''): sums per metric, daily timeframes, and the
        extra branch-hours of each hour."""
        parts = self.parts
        project_scope = f"{scope} AND branch_id = ''"
        for granularity, sums in (
            ("hourly", parts.project_hourly),
            ("daily", parts.project_daily),
        ):
            for project_id, metric, total in self._rows(
                "project_id, metric, SUM(value)", granularity, project_scope, params,
                "GROUP BY project_id, metric",
            ):  # fmt: skip
                parts.project_org[project_id] = org_id
                sums.setdefault(project_id, {})[metric] = total
        for project_id, days in self._rows(
            "project_id, COUNT(DISTINCT start_at)", "daily", project_scope, params,
            "GROUP BY project_id",
        ):  # fmt: skip
            parts.project_days[project_id] = days
        parts.project_extra.update(
            self._hourly_series("project_id", project_scope, params, EXTRA_BRANCHES_MONTH)
        )

    def _hourly_series(
        self, key: str, scope: str, params: list[Any], metric: str
    ) -> Iterator[tuple[str, array[float]]]:
        """``metric``'s hourly sums per ``key`` (a project or branch id), in hour order, as
        the compact series ``Usage`` keeps."""
        series: dict[str, list[float]] = {}
        for key_id, total in self._rows(
            f"{key}, SUM(value)", "hourly", f"{scope} AND metric = ?", [*params, metric],
            f"GROUP BY {key}, start_at ORDER BY {key}, start_at",
        ):  # fmt: skip
            series.setdefault(key_id, []).append(total)
        return ((key_id, hourly(values)) for key_id, values in series.items())

    def branches(self, org_id: str, scope: str, params: list[Any]) -> None:
        """Branch rows: which branches have hourly rows, each one's compute per hour, and
        its child storage summed (hourly, and daily with its days)."""
        parts = self.parts
        branch_scope = f"{scope} AND branch_id != ''"
        for (branch_id,) in self._rows("DISTINCT branch_id", "hourly", branch_scope, params):
            parts.hourly_any.add(branch_id)
            parts.org_of[branch_id] = org_id
        parts.hourly_cu.update(
            self._hourly_series("branch_id", branch_scope, params, COMPUTE_UNIT_SECONDS)
        )
        for branch_id, total in self._rows(
            "branch_id, SUM(value)", "hourly", f"{branch_scope} AND metric = ?",
            [*params, CHILD_BRANCH_BYTES_MONTH], "GROUP BY branch_id",
        ):  # fmt: skip
            parts.hourly_child[branch_id] = total
        for branch_id, total, days in self._rows(
            "branch_id, SUM(value), COUNT(DISTINCT start_at)", "daily",
            f"{branch_scope} AND metric = ?", [*params, CHILD_BRANCH_BYTES_MONTH],
            "GROUP BY branch_id",
        ):  # fmt: skip
            parts.org_of[branch_id] = org_id
            parts.daily_child[branch_id] = (total, days)


def usage_for(
    connection: sqlite3.Connection,
    now: datetime,
    sizes: Mapping[str, Mapping[str, int | None]] | None = None,
    *,
    project_ids: Iterable[str] | None = None,
    branches: bool = True,
    units: Mapping[str, StorageUnit | None] | None = None,
) -> Usage:
    """The savings estimates' view of the meters: branch and project rows of the last week
    (hourly) and month (daily), with each organization's calibrated storage unit (project
    rows price restore windows, snapshots, whole projects and plan fit).

    ``project_ids``: only these projects' rows (and their branches'), read through the
    primary key, for a caller that evaluates a batch of projects at a time; None: every
    project's. ``branches`` False: project rows only (what plan fit reads, organization
    wide). Either way the work is the rows inside the windows: older history kept is
    never read. ``units``: the organizations' storage units (``storage_units``), computed
    once by a caller that asks for many batches; None: calibrated here from ``sizes``."""
    parts = UsageParts()
    query = _UsageQuery(connection, now, parts)
    wanted = None if project_ids is None else sorted(set(project_ids))
    for org_id in org_ids(connection):
        projects = wanted
        if projects is None:
            projects = _next_ids(connection, "project_id", "org_id = ?", [org_id])
        for first in range(0, len(projects), USAGE_PROJECTS_PER_QUERY):
            chunk = projects[first : first + USAGE_PROJECTS_PER_QUERY]
            marks = ", ".join("?" for _ in chunk)
            query.projects(org_id, f"org_id = ? AND project_id IN ({marks})", [org_id, *chunk])
        if not branches:
            continue
        for project_id in projects:
            ids = _next_ids(
                connection, "branch_id", "org_id = ? AND project_id = ?", [org_id, project_id]
            )
            if ids:
                marks = ", ".join("?" for _ in ids)
                query.branches(
                    org_id,
                    f"org_id = ? AND project_id = ? AND branch_id IN ({marks})",
                    [org_id, project_id, *ids],
                )
    if units is None:
        units = storage_units(connection, now, sizes)
    return Usage.from_parts(parts, now, units)


def storage_units(
    connection: sqlite3.Connection,
    now: datetime,
    sizes: Mapping[str, Mapping[str, int | None]] | None = None,
) -> dict[str, StorageUnit | None]:
    """Each organization's calibrated storage unit (None: not calibrated), as ``usage_for``
    uses them."""
    return {org_id: found.unit for org_id, found in calibrations(connection, now, sizes).items()}
