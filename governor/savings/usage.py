"""What Neon's consumption meters say about a branch, as the savings estimates ask it.

Why its own type: the estimators price from measurements where they exist (the note's L1,
L4, L7) and stay pure; the store builds a ``Usage`` (``governor/store/consumption.py``
``usage_for``) and the estimators only query it. A query answers None when the meters do
not cover what was asked, and the estimate falls back to object fields, labelled so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    COMPUTE_UNIT_SECONDS,
    EXTRA_BRANCHES_MONTH,
    STORAGE_METRICS,
    Bucket,
    StorageUnit,
)
from governor.savings.units import BYTES_PER_GB, HOURS_PER_GB_MONTH, HOURS_PER_MONTH

FLOOR_SLACK = 1.05  # an hour within 5% of the floor is a floor hour (note L1)
WINDOW_HOURS = 168  # hourly data reaches back 168 h (note §3.2)
STORAGE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class FloorHours:
    """A branch's hours at its computes' floor over the hourly window read."""

    floor_hours: float  # hours in the window whose CU-seconds were at most 1.05 x floor
    window_hours: float  # complete hours the window covered
    active_hours: float  # hours with any compute

    def per_month(self, hours_per_month: float) -> float:
        """Floor hours scaled from the window to ``hours_per_month``."""
        if self.window_hours <= 0:
            return 0.0
        return self.floor_hours * hours_per_month / self.window_hours


@dataclass(frozen=True)
class ProjectFigure:
    """One project line per month from the project's own rows (``branch_id`` None)."""

    per_month: float  # GB-months per 744-h month (storage); CU-hours or branch-months per 730 h
    days: float  # days of rows it was read from (hourly: the window's 7)
    granularity: str  # "daily" or "hourly"


@dataclass(frozen=True)
class ChildStorage:
    """A child branch's billed storage, from ``child_branch_bytes_month``."""

    gb_month_per_month: float  # GB-months a 744-hour month of this storage bills
    days: int  # complete days read
    unit: StorageUnit


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Usage:
    """Branch-level consumption rows, ``now`` and each organization's calibrated unit."""

    def __init__(
        self,
        buckets: Iterable[Bucket],
        now: datetime,
        storage_units: Mapping[str, StorageUnit | None] | None = None,
    ) -> None:
        self.now = _aware(now)
        self.storage_units = dict(storage_units or {})
        self._hourly: dict[str, dict[datetime, float]] = {}
        self._hourly_any: set[str] = set()
        self._daily_child: dict[str, dict[datetime, float]] = {}
        self._hourly_child: dict[str, dict[datetime, float]] = {}
        self._org_of: dict[str, str] = {}
        self._project_org: dict[str, str] = {}
        # project id -> metric -> bucket start -> value (project rows: branch_id None)
        self._project_daily: dict[str, dict[str, dict[datetime, float]]] = {}
        self._project_hourly: dict[str, dict[str, dict[datetime, float]]] = {}
        last_hour = self.now.replace(minute=0, second=0, microsecond=0)
        self.window_end = last_hour
        self.window_start = last_hour - timedelta(hours=WINDOW_HOURS)
        storage_start = self.now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=STORAGE_WINDOW_DAYS
        )
        for row in buckets:
            start, end = _aware(row.start), _aware(row.end)
            if row.branch_id is None:
                self._keep_project_row(row, start, end, storage_start)
                continue
            self._org_of[row.branch_id] = row.org_id
            if row.granularity == "hourly":
                if start < self.window_start or end > self.window_end:
                    continue
                self._hourly_any.add(row.branch_id)
                if row.metric == COMPUTE_UNIT_SECONDS:
                    hours = self._hourly.setdefault(row.branch_id, {})
                    hours[start] = hours.get(start, 0.0) + row.value
                elif row.metric == CHILD_BRANCH_BYTES_MONTH:
                    child = self._hourly_child.setdefault(row.branch_id, {})
                    child[start] = child.get(start, 0.0) + row.value
            elif row.granularity == "daily" and row.metric == CHILD_BRANCH_BYTES_MONTH:
                if start < storage_start or end > self.now:
                    continue
                days = self._daily_child.setdefault(row.branch_id, {})
                days[start] = days.get(start, 0.0) + row.value

    def _keep_project_row(
        self, row: Bucket, start: datetime, end: datetime, storage_start: datetime
    ) -> None:
        self._project_org[row.project_id] = row.org_id
        if row.granularity == "hourly":
            if start < self.window_start or end > self.window_end:
                return
            table = self._project_hourly
        elif row.granularity == "daily":
            if start < storage_start or end > self.now:
                return
            table = self._project_daily
        else:
            return
        metrics = table.setdefault(row.project_id, {})
        values = metrics.setdefault(row.metric, {})
        values[start] = values.get(start, 0.0) + row.value

    def project_read(self, project_id: str) -> bool:
        """Whether any project row of ``project_id`` is in the windows (a metric absent from
        a read project is 0: Neon omits zero metrics)."""
        return project_id in self._project_daily or project_id in self._project_hourly

    def project_storage(self, project_id: str, metric: str) -> ProjectFigure | None:
        """A project storage metric (root, child, instant restore, snapshots) as GB-months
        per 744-hour month: daily rows of the last 30 days, else the hourly window; None when
        the project was not read or its organization's storage unit is not calibrated."""
        if metric not in STORAGE_METRICS or not self.project_read(project_id):
            return None
        unit = self.storage_unit(self._project_org.get(project_id))
        if unit is None:
            return None
        divisor = BYTES_PER_GB * (HOURS_PER_GB_MONTH if unit == "byte_hours" else 1)
        days = self._days_of(project_id)
        if days:
            values = self._project_daily[project_id].get(metric, {})
            total = sum(values.values()) / divisor
            return ProjectFigure(total * HOURS_PER_GB_MONTH / (24 * days), days, "daily")
        values = self._project_hourly.get(project_id, {}).get(metric, {})
        total = sum(values.values()) / divisor
        return ProjectFigure(total * HOURS_PER_GB_MONTH / WINDOW_HOURS, WINDOW_HOURS / 24, "hourly")

    def project_cu_hours(self, project_id: str) -> ProjectFigure | None:
        """The project's compute as CU-hours per 730-hour month, or None when not read."""
        if not self.project_read(project_id):
            return None
        days = self._days_of(project_id)
        if days:
            values = self._project_daily[project_id].get(COMPUTE_UNIT_SECONDS, {})
            hours = sum(values.values()) / 3600
            return ProjectFigure(hours * HOURS_PER_MONTH / (24 * days), days, "daily")
        values = self._project_hourly.get(project_id, {}).get(COMPUTE_UNIT_SECONDS, {})
        hours = sum(values.values()) / 3600
        return ProjectFigure(hours * HOURS_PER_MONTH / WINDOW_HOURS, WINDOW_HOURS / 24, "hourly")

    def extra_branch_months(self, project_id: str, allowance: int) -> ProjectFigure | None:
        """Branch-months per 730-hour month beyond ``allowance`` child branches: each hour's
        ``extra_branches_month`` (branch-hours of every child branch) netted as Neon bills it,
        ``max(0, value - allowance)`` per hourly bucket, / 744; None without hourly rows
        (daily rows under-estimate the netting, note §1.4)."""
        if project_id not in self._project_hourly:
            return None
        values = self._project_hourly[project_id].get(EXTRA_BRANCHES_MONTH, {})
        over = sum(max(0.0, value - allowance) for value in values.values())
        per_month = over * HOURS_PER_MONTH / WINDOW_HOURS / HOURS_PER_GB_MONTH
        return ProjectFigure(per_month, WINDOW_HOURS / 24, "hourly")

    def projects_of(self, org_id: str) -> list[str]:
        """The projects of ``org_id`` with rows in the windows."""
        return sorted(project for project, org in self._project_org.items() if org == org_id)

    def _days_of(self, project_id: str) -> int:
        """Complete days of project rows read (any metric)."""
        metrics = self._project_daily.get(project_id, {})
        return len({start for values in metrics.values() for start in values})

    def floor_hours(self, branch_id: str, floor_cu: float) -> FloorHours | None:
        """Hours the branch's computes spent at their floor (``floor_cu`` = Σ min CU).

        None when no hourly row of the branch is in the window (not read, or never active:
        the meters cannot tell those apart, so nothing is claimed from them).
        """
        if branch_id not in self._hourly_any or floor_cu <= 0:
            return None
        hours = self._hourly.get(branch_id, {})
        threshold = FLOOR_SLACK * floor_cu * 3600
        floor = sum(1 for value in hours.values() if 0 < value <= threshold)
        active = sum(1 for value in hours.values() if value > 0)
        return FloorHours(float(floor), float(WINDOW_HOURS), float(active))

    def child_storage(self, branch_id: str) -> ChildStorage | None:
        """The branch's ``child_branch_bytes_month`` as GB-months per month, or None when it
        was not read or its organization's storage unit is not calibrated.

        Daily rows when there are (30 days); else the hourly window's (the reader takes
        branches hourly only), whose hours without a row count as read and zero, as the
        compute's do."""
        org = self._org_of.get(branch_id)
        unit = self.storage_units.get(org) if org else None
        if unit is None:
            return None
        divisor = BYTES_PER_GB * (HOURS_PER_GB_MONTH if unit == "byte_hours" else 1)
        days = self._daily_child.get(branch_id)
        if days:
            total = sum(days.values()) / divisor
            per_month = total * HOURS_PER_GB_MONTH / (24 * len(days))
            return ChildStorage(per_month, len(days), unit)
        hours = self._hourly_child.get(branch_id)
        if not hours or branch_id not in self._hourly_any:
            return None
        total = sum(hours.values()) / divisor
        per_month = total * HOURS_PER_GB_MONTH / WINDOW_HOURS
        return ChildStorage(per_month, WINDOW_HOURS // 24, unit)

    def storage_unit(self, org_id: str | None) -> StorageUnit | None:
        return self.storage_units.get(org_id) if org_id else None
