"""What Neon's consumption meters say about a branch, as the savings estimates ask it.

Why its own type: the estimators price from measurements where they exist (the note's L1,
L4, L7) and stay pure; the store builds a ``Usage`` (``governor/store/consumption.py``
``usage_for``) and the estimators only query it. A query answers None when the meters do
not cover what was asked, and the estimate falls back to object fields, labelled so.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
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


def hourly(values: Iterable[float] = ()) -> array[float]:
    """An hourly series as 8 bytes an hour (a tuple of floats takes 32): up to 168 a branch."""
    return array("d", values)


@dataclass
class UsageParts:
    """What a ``Usage`` holds, compact: per metric sums, and per hour only the two series a
    query thresholds (a branch's compute, a project's extra branch-hours), hours in time
    order. Built from rows inside ``windows(now)``: by ``RowSums`` from buckets, or by the
    store from SQL sums (``store.consumption.usage_for``)."""

    org_of: dict[str, str] = field(default_factory=dict)  # branch -> org
    hourly_any: set[str] = field(default_factory=set)  # branches with any hourly row
    hourly_cu: dict[str, array[float]] = field(default_factory=dict)  # CU-s per hour
    hourly_child: dict[str, float] = field(default_factory=dict)  # child bytes, summed
    daily_child: dict[str, tuple[float, int]] = field(default_factory=dict)  # (sum, days)
    project_org: dict[str, str] = field(default_factory=dict)
    # project id -> metric -> sum over the window (project rows: branch_id None)
    project_daily: dict[str, dict[str, float]] = field(default_factory=dict)
    project_days: dict[str, int] = field(default_factory=dict)  # distinct daily timeframes
    project_hourly: dict[str, dict[str, float]] = field(default_factory=dict)
    project_extra: dict[str, array[float]] = field(default_factory=dict)  # per hour


class RowSums:
    """``UsageParts`` from rows one at a time (split billing periods of one timeframe add
    up first). ``start`` is any hashable: a datetime, or the store's time text."""

    def __init__(self) -> None:
        self.parts = UsageParts()
        self._hourly_cu: dict[str, dict[Hashable, float]] = {}
        self._daily_child: dict[str, dict[Hashable, float]] = {}
        self._project_days: dict[str, set[Hashable]] = {}
        self._project_extra: dict[str, dict[Hashable, float]] = {}

    def add(self, row: tuple[str, str, str | None, str, Hashable, str, float]) -> None:
        """One row: org, project, branch (None or '' for the project's), granularity,
        start, metric, value."""
        org_id, project_id, branch_id, granularity, start, metric, value = row
        parts = self.parts
        if not branch_id:
            parts.project_org[project_id] = org_id
            if granularity == "hourly":
                sums = parts.project_hourly.setdefault(project_id, {})
                if metric == EXTRA_BRANCHES_MONTH:
                    hours = self._project_extra.setdefault(project_id, {})
                    hours[start] = hours.get(start, 0.0) + value
            else:
                sums = parts.project_daily.setdefault(project_id, {})
                self._project_days.setdefault(project_id, set()).add(start)
            sums[metric] = sums.get(metric, 0.0) + value
            return
        parts.org_of[branch_id] = org_id
        if granularity == "hourly":
            parts.hourly_any.add(branch_id)
            if metric == COMPUTE_UNIT_SECONDS:
                hours = self._hourly_cu.setdefault(branch_id, {})
                hours[start] = hours.get(start, 0.0) + value
            elif metric == CHILD_BRANCH_BYTES_MONTH:
                parts.hourly_child[branch_id] = parts.hourly_child.get(branch_id, 0.0) + value
        elif metric == CHILD_BRANCH_BYTES_MONTH:
            days = self._daily_child.setdefault(branch_id, {})
            days[start] = days.get(start, 0.0) + value

    def done(self) -> UsageParts:
        parts = self.parts
        parts.hourly_cu = {key: hourly(hours.values()) for key, hours in self._hourly_cu.items()}
        parts.daily_child = {
            key: (sum(days.values()), len(days)) for key, days in self._daily_child.items()
        }
        parts.project_days = {key: len(days) for key, days in self._project_days.items()}
        parts.project_extra = {
            key: hourly(hours.values()) for key, hours in self._project_extra.items()
        }
        return parts


def windows(now: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """The windows a ``Usage`` at ``now`` keeps: hourly rows in [hourly start, hourly end),
    daily rows in [daily start, daily end) (a row must end inside its window)."""
    moment = _aware(now)
    last_hour = moment.replace(minute=0, second=0, microsecond=0)
    storage_start = moment.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=STORAGE_WINDOW_DAYS
    )
    return last_hour - timedelta(hours=WINDOW_HOURS), last_hour, storage_start, moment


class Usage:
    """Branch-level consumption rows, ``now`` and each organization's calibrated unit.

    Kept compact, as the queries need them (per metric sums, and per hour only the two
    series a query thresholds: a branch's compute and a project's extra branch-hours), so a
    ``Usage`` holds a few numbers per project and branch, not every row it was built from.
    ``from_parts`` builds one from sums the store computed (``store.consumption.usage_for``).
    """

    def __init__(
        self,
        buckets: Iterable[Bucket],
        now: datetime,
        storage_units: Mapping[str, StorageUnit | None] | None = None,
    ) -> None:
        self._setup(now, storage_units)
        parts = RowSums()
        hourly_start, hourly_end, daily_start, daily_end = windows(now)
        for row in buckets:
            start, end = _aware(row.start), _aware(row.end)
            if row.granularity == "hourly":
                if start < hourly_start or end > hourly_end:
                    continue
            elif row.granularity == "daily":
                if start < daily_start or end > daily_end:
                    continue
            else:
                continue
            parts.add(
                (row.org_id, row.project_id, row.branch_id, row.granularity, start, row.metric,
                 row.value)
            )  # fmt: skip
        self._keep(parts.done())

    @classmethod
    def from_parts(
        cls,
        parts: UsageParts,
        now: datetime,
        storage_units: Mapping[str, StorageUnit | None] | None = None,
    ) -> Usage:
        """A ``Usage`` from rows already inside ``windows(now)``, added to ``parts``."""
        usage = cls.__new__(cls)
        usage._setup(now, storage_units)
        usage._keep(parts)
        return usage

    def _setup(self, now: datetime, storage_units: Mapping[str, StorageUnit | None] | None) -> None:
        self.now = _aware(now)
        self.storage_units = dict(storage_units or {})
        self.window_start, self.window_end, _, _ = windows(self.now)

    def _keep(self, parts: UsageParts) -> None:
        self._org_of = parts.org_of
        self._hourly_any = parts.hourly_any
        self._hourly = parts.hourly_cu
        self._hourly_child = parts.hourly_child
        self._daily_child = parts.daily_child
        self._project_org = parts.project_org
        self._project_daily = parts.project_daily
        self._project_days = parts.project_days
        self._project_hourly = parts.project_hourly
        self._project_extra = parts.project_extra

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
            total = self._project_daily[project_id].get(metric, 0.0) / divisor
            return ProjectFigure(total * HOURS_PER_GB_MONTH / (24 * days), days, "daily")
        total = self._project_hourly.get(project_id, {}).get(metric, 0.0) / divisor
        return ProjectFigure(total * HOURS_PER_GB_MONTH / WINDOW_HOURS, WINDOW_HOURS / 24, "hourly")

    def project_cu_hours(self, project_id: str) -> ProjectFigure | None:
        """The project's compute as CU-hours per 730-hour month, or None when not read."""
        if not self.project_read(project_id):
            return None
        days = self._days_of(project_id)
        if days:
            hours = self._project_daily[project_id].get(COMPUTE_UNIT_SECONDS, 0.0) / 3600
            return ProjectFigure(hours * HOURS_PER_MONTH / (24 * days), days, "daily")
        hours = self._project_hourly.get(project_id, {}).get(COMPUTE_UNIT_SECONDS, 0.0) / 3600
        return ProjectFigure(hours * HOURS_PER_MONTH / WINDOW_HOURS, WINDOW_HOURS / 24, "hourly")

    def extra_branch_months(self, project_id: str, allowance: int) -> ProjectFigure | None:
        """Branch-months per 730-hour month beyond ``allowance`` child branches: each hour's
        ``extra_branches_month`` (branch-hours of every child branch) netted as Neon bills it,
        ``max(0, value - allowance)`` per hourly bucket, / 744; None without hourly rows
        (daily rows under-estimate the netting, note §1.4)."""
        if project_id not in self._project_hourly:
            return None
        values = self._project_extra.get(project_id, hourly())
        over = sum(max(0.0, value - allowance) for value in values)
        per_month = over * HOURS_PER_MONTH / WINDOW_HOURS / HOURS_PER_GB_MONTH
        return ProjectFigure(per_month, WINDOW_HOURS / 24, "hourly")

    def projects_of(self, org_id: str) -> list[str]:
        """The projects of ``org_id`` with rows in the windows."""
        return sorted(project for project, org in self._project_org.items() if org == org_id)

    def _days_of(self, project_id: str) -> int:
        """Complete days of project rows read (any metric)."""
        return self._project_days.get(project_id, 0)

    def floor_hours(self, branch_id: str, floor_cu: float) -> FloorHours | None:
        """Hours the branch's computes spent at their floor (``floor_cu`` = Σ min CU).

        None when no hourly row of the branch is in the window (not read, or never active:
        the meters cannot tell those apart, so nothing is claimed from them).
        """
        if branch_id not in self._hourly_any or floor_cu <= 0:
            return None
        hours = self._hourly.get(branch_id, hourly())
        threshold = FLOOR_SLACK * floor_cu * 3600
        floor = sum(1 for value in hours if 0 < value <= threshold)
        active = sum(1 for value in hours if value > 0)
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
        daily = self._daily_child.get(branch_id)
        if daily is not None:
            days_sum, days = daily
            per_month = days_sum / divisor * HOURS_PER_GB_MONTH / (24 * days)
            return ChildStorage(per_month, days, unit)
        hours = self._hourly_child.get(branch_id)
        if hours is None or branch_id not in self._hourly_any:
            return None
        total = hours / divisor
        per_month = total * HOURS_PER_GB_MONTH / WINDOW_HOURS
        return ChildStorage(per_month, WINDOW_HOURS // 24, unit)

    def storage_unit(self, org_id: str | None) -> StorageUnit | None:
        return self.storage_units.get(org_id) if org_id else None
