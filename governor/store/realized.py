"""The only writer of ``realized_savings``: what a succeeded remediation was judged on, and
what it really saved once Neon's meters show it.

Why kept at success and not recomputed later: the consumption series age out of the store
(``[consumption] keep``) and the finding's estimate moves with every audit; the number a
team compares is the one the change was made on. ``keep_baseline`` runs in the executor's
success step (one call, idempotent); ``record`` stores each measurement pass's result.
``measure_due`` is the measurement pass (the daemon's daily job, the end of audit and
apply). The functions are the API: ``await store.run(realized.keep_baseline, record,
now=...)``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.costs.realized import (
    DEFAULT_WINDOWS,
    Measurement,
    Rates,
    Scope,
    Status,
    Windows,
    baseline_rates,
    measure,
)
from governor.model.consumption import Bucket, Granularity, StorageUnit
from governor.savings.billing_plan import billing_plan
from governor.savings.prices import PlanPrices, Prices
from governor.store import consumption
from governor.store.connection import rows, write
from governor.store.encoding import decode_optional_time, decode_time, encode_json, encode_time
from governor.store.errors import StoreError, one_line
from governor.store.remediations import RemediationRecord
from governor.store.store import Store

logger = logging.getLogger(__name__)

# Changes that save no metered money (revoking a key saves risk): nothing to measure.
UNMETERED_CHANGES = frozenset({"revoke_org_key", "revoke_personal_key"})
GRANULARITIES: tuple[Granularity, ...] = ("daily", "hourly")


@dataclass(frozen=True)
class RealizedRecord:
    """One row of ``realized_savings``: the estimate next to the measurement."""

    remediation_id: int
    scope: Scope
    changed_at: datetime
    estimate_usd: float | None
    estimate_kind: str | None
    estimate_method: str | None
    baseline: Rates | None
    status: Status
    note: str
    realized_monthly_usd: float | None
    cu_hours_monthly: float | None
    window_start: datetime | None
    window_end: datetime | None
    drift: float | None
    drifted: bool
    next_at: datetime | None
    measured_at: datetime | None
    kept_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RealizedRecord:
        baseline = row["baseline"]
        return cls(
            remediation_id=row["remediation_id"],
            scope=Scope.from_json(json.loads(row["scope"])),
            changed_at=decode_time(row["changed_at"]),
            estimate_usd=row["estimate_usd"],
            estimate_kind=row["estimate_kind"],
            estimate_method=row["estimate_method"],
            baseline=None if baseline is None else Rates.from_json(json.loads(baseline)),
            status=row["status"],
            note=row["note"],
            realized_monthly_usd=row["realized_monthly_usd"],
            cu_hours_monthly=row["cu_hours_monthly"],
            window_start=decode_optional_time(row["window_start"]),
            window_end=decode_optional_time(row["window_end"]),
            drift=row["drift"],
            drifted=bool(row["drifted"]),
            next_at=decode_optional_time(row["next_at"]),
            measured_at=decode_optional_time(row["measured_at"]),
            kept_at=decode_time(row["kept_at"]),
        )

    def as_json(self) -> dict[str, Any]:
        """The estimate and the measurement, as the JSON report and ``remediations`` show."""
        return {
            "remediation_id": self.remediation_id,
            "estimated_monthly_usd": self.estimate_usd,
            "estimate_kind": self.estimate_kind,
            "realized_monthly_usd": self.realized_monthly_usd,
            "status": self.status,
            "drift": self.drift,
            "drifted": self.drifted,
            "window": None
            if self.window_start is None or self.window_end is None
            else [self.window_start.isoformat(), self.window_end.isoformat()],
            "measured_at": None if self.measured_at is None else self.measured_at.isoformat(),
            "note": self.note,
        }


@dataclass(frozen=True)
class Summary:
    """Estimated vs realized over every kept remediation (status, reports, the metric)."""

    kept: int
    measured: int
    waiting: int
    no_data: int
    drifted: int
    estimated_usd: float  # of the measured ones: the like-for-like comparison
    realized_usd: float  # each drop once (see ``summary``)
    counted_once: int = 0  # measured rows whose drop another row of the same scope counts

    def as_json(self) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "measured": self.measured,
            "waiting": self.waiting,
            "no_data": self.no_data,
            "drifted": self.drifted,
            "estimated_monthly_usd": round(self.estimated_usd, 2),
            "realized_monthly_usd": round(self.realized_usd, 2),
            "counted_once": self.counted_once,
        }


def scope_of(connection: sqlite3.Connection, record: RemediationRecord) -> Scope | None:
    """What Neon meters for ``record``'s resource; None: nothing metered (a key, a revert,
    or an endpoint whose branch the store never saw)."""
    if record.reverts_id is not None or record.change.kind in UNMETERED_CHANGES:
        return None
    if record.project_id is None:
        return None
    org_id = record.org_id or _org_of_project(connection, record.project_id) or ""
    if record.resource_type == "project":
        return Scope(org_id, record.project_id, None)
    if record.resource_type == "branch":
        deleted = record.change.kind == "delete_branch"
        return Scope(org_id, record.project_id, record.resource_id, branch_deleted=deleted)
    if record.resource_type == "endpoint":
        branch_id = _branch_of_endpoint(connection, record.resource_id)
        return None if branch_id is None else Scope(org_id, record.project_id, branch_id)
    return None


def keep_baseline(
    connection: sqlite3.Connection,
    record: RemediationRecord,
    *,
    now: datetime,
    windows: Windows = DEFAULT_WINDOWS,
) -> RealizedRecord | None:
    """Keep what ``record`` (just succeeded) was judged on; None when nothing is metered.

    A second call for the same remediation keeps the first (a reconcile that ends it again
    changes nothing).
    """
    scope = scope_of(connection, record)
    if scope is None:
        return None
    kind, method = _estimate_of(connection, record)
    start, end = windows.baseline_window(now)
    baseline = baseline_rates(
        series(connection, scope, start=start, end=end), scope, changed_at=now, windows=windows
    )
    at = encode_time(now, what="now")
    with write(connection):
        connection.execute(
            "INSERT OR IGNORE INTO realized_savings (remediation_id, scope, changed_at, "
            "estimate_usd, estimate_kind, estimate_method, baseline, status, note, kept_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?)",
            [
                record.id,
                encode_json(scope.as_json(), what="realized scope"),
                at,
                record.estimate_usd,
                kind,
                method,
                None if baseline is None else encode_json(baseline.as_json(), what="baseline"),
                "kept at success; measured after the settling time",
                at,
            ],
        )
    return get(connection, record.id)


def record(
    connection: sqlite3.Connection, remediation_id: int, measurement: Measurement, *, now: datetime
) -> None:
    """Store one measurement pass's result; a baseline first computed now is kept too."""
    window = measurement.window
    baseline = measurement.baseline
    with write(connection):
        connection.execute(
            "UPDATE realized_savings SET status = ?, note = ?, realized_monthly_usd = ?, "
            "cu_hours_monthly = ?, window_start = ?, window_end = ?, drift = ?, drifted = ?, "
            "next_at = ?, measured_at = ?, baseline = COALESCE(baseline, ?) "
            "WHERE remediation_id = ?",
            [
                measurement.status,
                one_line(measurement.note),
                measurement.realized_monthly_usd,
                measurement.cu_hours_monthly,
                None if window is None else encode_time(window[0], what="window start"),
                None if window is None else encode_time(window[1], what="window end"),
                measurement.drift,
                int(measurement.drifted),
                None if measurement.until is None else encode_time(measurement.until, what="until"),
                encode_time(now, what="now"),
                None if baseline is None else encode_json(baseline.as_json(), what="baseline"),
                remediation_id,
            ],
        )


def measure_due(
    connection: sqlite3.Connection,
    *,
    now: datetime,
    prices: Prices,
    windows: Windows = DEFAULT_WINDOWS,
) -> list[RealizedRecord]:
    """Measure every waiting row whose next look has come; returns the rows as stored.

    Each row is priced at its organization's plan (the same rate card as the estimates)
    and its storage in the unit the organization's meters calibrate to (None: storage is
    left out, or the row is "no data" when the saving is mostly storage).
    """
    measured: list[RealizedRecord] = []
    rows_due = due(connection, now=now)
    units: dict[str, StorageUnit | None] = {}
    if rows_due:
        units = {
            org: found.unit for org, found in consumption.calibrations(connection, now).items()
        }
    for row in rows_due:
        scope = row.scope
        start = windows.baseline_window(row.changed_at)[0]
        end = windows.after_window(row.changed_at)[1]
        result = measure(
            scope=scope,
            changed_at=row.changed_at,
            now=now,
            buckets=series(connection, scope, start=start, end=end),
            prices=plan_prices(connection, scope, prices),
            storage_unit=units.get(scope.org_id),
            windows=windows,
            baseline=row.baseline,
        )
        record(connection, row.remediation_id, result, now=now)
        stored = get(connection, row.remediation_id)
        if stored is not None:
            measured.append(stored)
    return measured


async def measured_summary(
    store: Store, *, now: datetime, prices: Prices, windows: Windows = DEFAULT_WINDOWS
) -> Summary | None:
    """The measurement pass, then estimated vs realized over every kept row, for the end of
    a run (audit, apply, the daemon's job). None when the store failed: a run never fails
    because its savings could not be measured (the log says why)."""
    try:
        await store.run(measure_due, now=now, prices=prices, windows=windows)
        return await store.run(summary)
    except StoreError as error:
        logger.warning("realized savings not measured: %s", error)
        return None


def plan_prices(connection: sqlite3.Connection, scope: Scope, prices: Prices) -> PlanPrices:
    """The rate card of the scope's organization, read as the estimates read it."""
    organization = _raw(connection, "organization", scope.org_id)
    project = _raw(connection, "project", scope.project_id)
    plan, _ = billing_plan(organization, project)
    return prices.for_plan(plan)


def get(connection: sqlite3.Connection, remediation_id: int) -> RealizedRecord | None:
    found = rows(
        connection, "SELECT * FROM realized_savings WHERE remediation_id = ?", [remediation_id]
    )
    return RealizedRecord.from_row(found[0]) if found else None


def due(connection: sqlite3.Connection, *, now: datetime) -> list[RealizedRecord]:
    """Rows a measurement pass looks at: waiting, and their next look has come."""
    found = rows(
        connection,
        "SELECT * FROM realized_savings WHERE status = 'waiting' "
        "AND (next_at IS NULL OR next_at <= ?) ORDER BY remediation_id",
        [encode_time(now, what="now")],
    )
    return [RealizedRecord.from_row(row) for row in found]


def listed(
    connection: sqlite3.Connection, remediation_ids: Iterable[int] | None = None
) -> dict[int, RealizedRecord]:
    """Kept rows by remediation id (all of them when ``remediation_ids`` is None)."""
    if remediation_ids is None:
        found = rows(connection, "SELECT * FROM realized_savings ORDER BY remediation_id")
    else:
        ids = sorted(set(remediation_ids))
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        found = rows(
            connection,
            f"SELECT * FROM realized_savings WHERE remediation_id IN ({marks})",
            ids,
        )
    return {row["remediation_id"]: RealizedRecord.from_row(row) for row in found}


def summary(connection: sqlite3.Connection) -> Summary:
    """Counts by status and, over the measured rows, estimated vs realized monthly USD.

    Each drop counts once: remediations measured on the same scope over the same window
    (two computes of one branch, two changes measured by one project's meters) each see the
    whole drop, so the group's realized saving is its largest and its estimate their sum.
    """
    kept = list(listed(connection).values())
    groups: dict[tuple[str, str | None, datetime | None], list[RealizedRecord]] = {}
    for row in kept:
        if row.status == "measured":
            scope = row.scope
            by_project = scope.branch_id is None or scope.branch_deleted
            key = (scope.project_id, None if by_project else scope.branch_id, row.window_start)
            groups.setdefault(key, []).append(row)
    return Summary(
        kept=len(kept),
        measured=sum(len(group) for group in groups.values()),
        waiting=sum(1 for row in kept if row.status == "waiting"),
        no_data=sum(1 for row in kept if row.status == "no data"),
        drifted=sum(1 for row in kept if row.drifted),
        estimated_usd=sum(row.estimate_usd or 0.0 for group in groups.values() for row in group),
        realized_usd=sum(
            max(row.realized_monthly_usd or 0.0 for row in group) for group in groups.values()
        ),
        counted_once=sum(len(group) - 1 for group in groups.values()),
    )


def series(
    connection: sqlite3.Connection, scope: Scope, *, start: datetime, end: datetime
) -> list[Bucket]:
    """The project's and (for a branch scope) all its branches' rows in ``[start, end)``,
    daily and hourly: the other branches are the drift control."""
    found: list[Bucket] = []
    branches: list[str | None] = [None] if scope.branch_id is None else [None, "any"]
    for granularity in GRANULARITIES:
        for branch_id in branches:
            found.extend(
                consumption.buckets(
                    connection,
                    project_id=scope.project_id,
                    branch_id=branch_id,
                    granularity=granularity,
                    start=start,
                    end=end,
                )
            )
    return found


def _estimate_of(
    connection: sqlite3.Connection, record: RemediationRecord
) -> tuple[str | None, str | None]:
    """The estimate's kind and method, from the findings the remediation was planned from."""
    ids = [int(source["finding_id"]) for source in record.findings if "finding_id" in source]
    if not ids:
        return None, None
    marks = ", ".join("?" for _ in ids)
    found = rows(
        connection,
        "SELECT estimate_usd, estimate_kind, estimate_method FROM findings "
        f"WHERE id IN ({marks}) ORDER BY COALESCE(estimate_usd, 0) DESC, id",
        ids,
    )
    if not found:
        return None, None
    kind = found[0]["estimate_kind"]
    return ("estimated" if kind == "money" else kind), found[0]["estimate_method"]


def _raw(connection: sqlite3.Connection, kind: str, resource_id: str) -> dict[str, Any] | None:
    found = rows(
        connection,
        "SELECT raw FROM resources WHERE resource_type = ? AND resource_id = ?",
        [kind, resource_id],
    )
    raw = json.loads(found[0]["raw"]) if found else None
    return raw if isinstance(raw, dict) else None


def _org_of_project(connection: sqlite3.Connection, project_id: str) -> str | None:
    found = rows(
        connection,
        "SELECT org_id FROM resources WHERE resource_type = 'project' AND resource_id = ?",
        [project_id],
    )
    return found[0]["org_id"] if found else None


def _branch_of_endpoint(connection: sqlite3.Connection, endpoint_id: str) -> str | None:
    found = rows(
        connection,
        "SELECT raw FROM resources WHERE resource_type = 'endpoint' AND resource_id = ?",
        [endpoint_id],
    )
    if not found:
        return None
    branch_id = json.loads(found[0]["raw"]).get("branch_id")
    return branch_id if isinstance(branch_id, str) else None
