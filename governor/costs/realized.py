"""What a remediation really saved, measured from Neon's consumption meters (note §3.7).

Why measured and not estimated: an estimate is a bound read from object fields; the number
a team shows to justify the tool is the drop in the bill after the change. Pure: buckets,
the change's time, the rate card and the clock in; a ``Measurement`` out.

The method:

- **Scope.** The acted-on branch's own meters (``compute_unit_seconds`` and its storage:
  ``root_branch_bytes_month`` or ``child_branch_bytes_month``, ``instant_restore_bytes_month``,
  from v2/branches) plus the project's ``extra_branches_month`` and
  ``snapshot_storage_bytes_month`` (v2/projects only). A deleted branch disappears from
  v2/branches, so its storage is measured by the project's drop (its compute by its own
  rows before, none after); a change to a whole project by the project's meters.
- **Windows.** Baseline: the 14 days before the change (whole UTC days, up to the change's
  hour where hourly rows reach it; in practice as far back as the store has branch rows).
  After: whole UTC days starting once the settling time (1 day) has passed, for at least
  7 days; ready one lag (1 hour: Neon's reporting delay) after the window closes.
- **Saving.** ``(baseline daily - after daily) x days in the month``, each meter priced with
  the same rate card as the estimates (decimal GB, storage in the calibrated unit; extra
  branches net of the plan's allowance on the daily average, then / 744).
- **Drift.** The rest of the project is the control: its other branches that have meters
  both before and after (a branch deleted meanwhile, by this remediation or another, is
  no workload change), in USD a day. When it moved by more than the threshold (20%), the
  saving is flagged, because the workload changed, not only the resource.
- **Status.** ``measured``; ``waiting`` (the after window has not closed, or its data has not
  arrived yet: ``until`` says when to look again); ``no data`` (the baseline or the after
  window was never read, or storage would be needed and its unit is uncalibrated).

A timeframe counts as read when the project has a row in it (a live project always stores
something, so its storage meter is never 0) and, where branches matter, some branch has
one; a branch missing from a read timeframe is 0 there.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from governor.costs.calibrate import HOURS_PER_GB_MONTH, gb_months
from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    COMPUTE_UNIT_SECONDS,
    EXTRA_BRANCHES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    ROOT_BRANCH_BYTES_MONTH,
    SNAPSHOT_STORAGE_BYTES_MONTH,
    STORAGE_METRICS,
    Bucket,
    StorageUnit,
)
from governor.savings.money import cents
from governor.savings.prices import PlanPrices

Status = Literal["measured", "waiting", "no data"]

# The branch's own meters (v2/branches) and the project's meters that only v2/projects has.
BRANCH_METRICS: tuple[str, ...] = (
    COMPUTE_UNIT_SECONDS,
    ROOT_BRANCH_BYTES_MONTH,
    CHILD_BRANCH_BYTES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
)
PROJECT_ONLY_METRICS: tuple[str, ...] = (EXTRA_BRANCHES_MONTH, SNAPSHOT_STORAGE_BYTES_MONTH)
SCOPE_METRICS: tuple[str, ...] = BRANCH_METRICS + PROJECT_ONLY_METRICS
DAY = timedelta(days=1)
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Scope:
    """What a remediation acted on, as Neon meters it.

    ``branch_id`` None: the whole project (a project-level change). ``branch_deleted``: the
    branch is gone after the change, so the project's drop measures it.
    """

    org_id: str
    project_id: str
    branch_id: str | None
    branch_deleted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "project_id": self.project_id,
            "branch_id": self.branch_id,
            "branch_deleted": self.branch_deleted,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Scope:
        return cls(
            org_id=str(raw["org_id"]),
            project_id=str(raw["project_id"]),
            branch_id=None if raw.get("branch_id") is None else str(raw["branch_id"]),
            branch_deleted=bool(raw.get("branch_deleted", False)),
        )


@dataclass(frozen=True)
class Windows:
    """How long to wait and measure; ``[savings]`` in the config sets them."""

    settle: timedelta = DAY
    lag: timedelta = timedelta(hours=1)
    measure_for: timedelta = timedelta(days=7)
    baseline: timedelta = timedelta(days=14)
    drift_threshold: float = 0.2
    # How long past the window's close missing data is still "waiting" (the reader runs
    # hourly; a daemon that was down catches up) before it is "no data".
    grace: timedelta = timedelta(days=2)

    def baseline_window(self, changed_at: datetime) -> tuple[datetime, datetime]:
        """Up to the hour of the change: daily rows end at the day before, hourly rows
        (the only ones v2/branches is read in) reach the change itself."""
        end = changed_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return day_floor(end) - _whole_days(self.baseline), end

    def after_window(self, changed_at: datetime) -> tuple[datetime, datetime]:
        start = day_ceil(changed_at + self.settle)
        return start, start + _whole_days(self.measure_for)

    def ready_at(self, changed_at: datetime) -> datetime:
        return self.after_window(changed_at)[1] + self.lag


DEFAULT_WINDOWS = Windows()


@dataclass(frozen=True)
class Rates:
    """Neon's meters a day over one window, in Neon's own units.

    Why raw: the store keeps a baseline the moment a remediation succeeds, where neither the
    config's rate card nor the storage calibration is at hand; both price it later.
    ``control``: the project's other branches' meters a day, by branch id; None when there
    is nothing to compare with (a project-wide scope, or branches were not read).
    """

    start: datetime
    end: datetime
    days: float  # days of the window that were read
    scope: Mapping[str, float]
    control: Mapping[str, Mapping[str, float]] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
            "scope": dict(self.scope),
            "control": None
            if self.control is None
            else {branch: dict(meters) for branch, meters in self.control.items()},
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Rates:
        control = raw.get("control")
        return cls(
            start=datetime.fromisoformat(str(raw["start"])),
            end=datetime.fromisoformat(str(raw["end"])),
            days=float(raw["days"]),
            scope={str(k): float(v) for k, v in dict(raw["scope"]).items()},
            control=None
            if control is None
            else {
                str(branch): {str(k): float(v) for k, v in dict(meters).items()}
                for branch, meters in dict(control).items()
            },
        )


@dataclass(frozen=True)
class Measurement:
    """The realized saving of one remediation, or why there is none yet."""

    status: Status
    note: str  # the method and the numbers, or what is missing, in words
    realized_monthly_usd: float | None = None
    baseline_daily_usd: float | None = None
    after_daily_usd: float | None = None
    cu_hours_monthly: float | None = None  # quota units (Free): compute saved a month
    window: tuple[datetime, datetime] | None = None  # the after window measured
    drift: float | None = None  # the rest of the project's relative move (0.25: +25%)
    drifted: bool = False
    until: datetime | None = None  # waiting: when to look again
    baseline: Rates | None = None
    after: Rates | None = None


# Windows and days -----------------------------------------------------------------------


def day_floor(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def day_ceil(moment: datetime) -> datetime:
    floor = day_floor(moment)
    return floor if floor == moment.astimezone(UTC) else floor + DAY


def _whole_days(span: timedelta) -> timedelta:
    return timedelta(days=max(1, -(-span // DAY)))


def days_in_month(moment: datetime) -> int:
    return calendar.monthrange(moment.year, moment.month)[1]


# Quantities -----------------------------------------------------------------------------


def usd_a_day(
    metric: str, per_day: float, prices: PlanPrices, storage_unit: StorageUnit | None
) -> float | None:
    """What ``per_day`` of ``metric`` (Neon's units) costs a day; None: storage whose unit
    is not calibrated (note §3.4: byte-hours or byte-months, a factor of 744 apart).

    Extra branches: the plan's allowance ((included - 1) child branches every hour) comes
    off the daily average, exact when every day is over it or under it.
    """
    if metric == COMPUTE_UNIT_SECONDS:
        return per_day / SECONDS_PER_HOUR * prices.compute_per_cu_hour
    if metric in STORAGE_METRICS:
        if storage_unit is None:
            return None
        return gb_months(per_day, storage_unit) * _storage_price(metric, prices)
    if metric == EXTRA_BRANCHES_MONTH:
        allowed = max(0, prices.included_branches_per_project - 1) * 24.0
        billable = max(0.0, per_day - allowed) / HOURS_PER_GB_MONTH
        return billable * prices.extra_branch_per_month
    return 0.0  # transfer and unknown meters are not part of a scope


def _storage_price(metric: str, prices: PlanPrices) -> float:
    if metric == INSTANT_RESTORE_BYTES_MONTH:
        return prices.instant_restore_per_gb_month
    if metric == SNAPSHOT_STORAGE_BYTES_MONTH:
        return prices.snapshot_per_gb_month
    return prices.storage_per_gb_month


def daily_usd(
    per_day: Mapping[str, float], prices: PlanPrices, storage_unit: StorageUnit | None
) -> tuple[float, list[str]]:
    """USD a day of ``per_day`` and the meters left out (nonzero storage, unit unknown)."""
    total, unpriced = 0.0, []
    for metric, value in per_day.items():
        usd = usd_a_day(metric, value, prices, storage_unit)
        if usd is None:
            if value:
                unpriced.append(metric)
            continue
        total += usd
    return total, sorted(unpriced)


Timeframe = tuple[datetime, datetime]
_ORDER = {"daily": 0, "hourly": 1, "monthly": 2}


@dataclass
class _Window:
    """The rows of one project and one granularity inside one window, by timeframe."""

    project: dict[Timeframe, dict[str, float]] = field(default_factory=dict)
    branch: dict[Timeframe, dict[str, float]] = field(default_factory=dict)  # the scope's
    others: dict[str, dict[Timeframe, dict[str, float]]] = field(default_factory=dict)
    branches_read: set[Timeframe] = field(default_factory=set)  # any branch had a row

    def usable(self, by_branch: bool) -> list[Timeframe]:
        """Timeframes read for the project and, ``by_branch``, for its branches too."""
        if by_branch:
            return [frame for frame in self.project if frame in self.branches_read]
        return list(self.project)


def _days(frames: Iterable[Timeframe]) -> float:
    return sum((end - start).total_seconds() for start, end in frames) / DAY.total_seconds()


def _collect(
    buckets: Iterable[Bucket], scope: Scope, *, start: datetime, end: datetime
) -> dict[str, _Window]:
    """The project's rows in ``[start, end)`` by granularity (a row must end inside)."""
    found: dict[str, _Window] = {}
    for bucket in buckets:
        if bucket.project_id != scope.project_id or bucket.start < start or bucket.end > end:
            continue
        window = found.setdefault(bucket.granularity, _Window())
        frame = (bucket.start, bucket.end)
        if bucket.branch_id is None:
            target = window.project.setdefault(frame, {})
        else:
            window.branches_read.add(frame)
            if bucket.branch_id == scope.branch_id:
                target = window.branch.setdefault(frame, {})
            else:
                target = window.others.setdefault(bucket.branch_id, {}).setdefault(frame, {})
        target[bucket.metric] = target.get(bucket.metric, 0.0) + bucket.value
    return found


def rates(
    buckets: Iterable[Bucket],
    scope: Scope,
    *,
    start: datetime,
    end: datetime,
    require_branch: bool = False,
) -> Rates | None:
    """Daily meters of ``scope`` and its control over ``[start, end)``.

    Why timeframes are matched: Neon serves branches (v2/branches, hourly in the reader)
    apart from projects (hourly and daily), so a branch's share is only known in the
    timeframes where branch rows were read; those are the ones used, in the granularity
    that covers most of the window (daily on a tie). A scope branch missing from a
    timeframe whose branches were read is 0 there (Neon omits zero meters).

    None when nothing usable was read, or, with ``require_branch`` (a baseline), when the
    scope's branch has no row at all: its share cannot be told from the project's.
    """
    by_project = scope.branch_id is None or scope.branch_deleted
    needs_branch = not by_project
    candidates = []
    for granularity, window in _collect(buckets, scope, start=start, end=end).items():
        with_branches = bool(window.branches_read)
        if needs_branch and not with_branches:
            continue
        frames = window.usable(with_branches)
        candidates.append((with_branches, _days(frames), -_ORDER.get(granularity, 3), window))
    if not candidates:
        return None
    with_branches, days, _, window = max(candidates, key=lambda found: found[:3])
    frames = window.usable(with_branches)
    if days <= 0:
        return None
    if require_branch and needs_branch and not any(frame in window.branch for frame in frames):
        return None

    def total(rows: dict[Timeframe, dict[str, float]], metric: str) -> float:
        return sum(rows.get(frame, {}).get(metric, 0.0) for frame in frames)

    def source(metric: str) -> dict[Timeframe, dict[str, float]]:
        """A deleted branch's storage and branch-hours by the project's drop (whether it
        bills while recoverable shows there), its compute by its own rows: the project's
        compute moves with every other branch's traffic."""
        if scope.branch_id is None or metric in PROJECT_ONLY_METRICS:
            return window.project
        if scope.branch_deleted and metric != COMPUTE_UNIT_SECONDS:
            return window.project
        return window.branch

    scope_sums = {metric: total(source(metric), metric) for metric in SCOPE_METRICS}
    control: dict[str, dict[str, float]] | None = None
    if scope.branch_id is not None and with_branches:
        control = {
            branch_id: {metric: total(rows, metric) / days for metric in BRANCH_METRICS}
            for branch_id, rows in sorted(window.others.items())
            if any(frame in rows for frame in frames)
        }
    return Rates(
        start=start,
        end=end,
        days=days,
        scope={metric: value / days for metric, value in scope_sums.items()},
        control=control,
    )


def baseline_rates(
    buckets: Iterable[Bucket],
    scope: Scope,
    *,
    changed_at: datetime,
    windows: Windows = DEFAULT_WINDOWS,
) -> Rates | None:
    """The baseline a remediation is judged on (None: the store has no consumption yet)."""
    start, end = windows.baseline_window(changed_at)
    return rates(buckets, scope, start=start, end=end, require_branch=True)


# The measurement ------------------------------------------------------------------------


def measure(
    *,
    scope: Scope,
    changed_at: datetime,
    now: datetime,
    buckets: Iterable[Bucket],
    prices: PlanPrices,
    storage_unit: StorageUnit | None,
    windows: Windows = DEFAULT_WINDOWS,
    baseline: Rates | None = None,
) -> Measurement:
    """Measure the saving of a change made at ``changed_at`` to ``scope``, as of ``now``.

    ``baseline``: the rates kept when the remediation succeeded; without it they are
    computed from ``buckets`` (the store keeps the series after Neon's lookback ends).
    """
    ready_at = windows.ready_at(changed_at)
    after_start, after_end = windows.after_window(changed_at)
    if now < ready_at:
        return Measurement(
            "waiting",
            f"settling and measuring until {ready_at.isoformat()} "
            f"(settle {windows.settle}, then {windows.measure_for} of data, {windows.lag} lag)",
            until=ready_at,
            window=(after_start, after_end),
        )
    buckets = list(buckets)
    if baseline is None:
        baseline = baseline_rates(buckets, scope, changed_at=changed_at, windows=windows)
    after = rates(buckets, scope, start=after_start, end=after_end)
    if baseline is None:
        where = "" if scope.branch_id is None else f" or branch {scope.branch_id}"
        return Measurement(
            "no data",
            f"no consumption of project {scope.project_id}{where} was read in the "
            f"{windows.baseline} before the change",
            after=after,
        )
    needed_days = (after_end - after_start) / DAY
    if after is None or after.days + 1e-9 < needed_days:
        read = 0.0 if after is None else after.days
        missing = f"{read:g} of {needed_days:g} days after the change were read"
        if now < ready_at + windows.grace:
            until = min(now + timedelta(hours=1), ready_at + windows.grace)
            return Measurement(
                "waiting", f"{missing}; waiting for the consumption reader", until=until
            )
        return Measurement("no data", f"{missing}; gave up at {ready_at + windows.grace}")
    after_scope = {metric: after.scope.get(metric, 0.0) for metric in baseline.scope}
    base_usd, unpriced_before = daily_usd(baseline.scope, prices, storage_unit)
    after_usd, unpriced_after = daily_usd(after_scope, prices, storage_unit)
    unpriced = sorted(set(unpriced_before) | set(unpriced_after))
    if unpriced and _storage_matters(scope):
        return Measurement(
            "no data",
            f"storage meters {', '.join(unpriced)} cannot be priced: their unit is not "
            "calibrated (neon-costs.md §3.4)",
            baseline=baseline,
            after=after,
        )
    days = days_in_month(after_start)
    cu_hours = (
        (baseline.scope.get(COMPUTE_UNIT_SECONDS, 0.0) - after_scope.get(COMPUTE_UNIT_SECONDS, 0.0))
        / SECONDS_PER_HOUR
        * days
    )
    drift, drifted = _drift(baseline, after, prices, storage_unit, windows.drift_threshold)
    billed = prices.billed
    realized = cents(base_usd - after_usd, days) if billed else 0.0
    how = "the project's drop" if scope.branch_id is None or scope.branch_deleted else "its meters"
    words = (
        f"measured by {how}: ${base_usd:.4f}/day over {baseline.days:g} days before, "
        f"${after_usd:.4f}/day over {after.days:g} days from {after_start.date()}, "
        f"x {days} days = ${realized:,.2f}/month ({cu_hours:.1f} CU-hours/month)"
    )
    if not billed:
        words += "; the plan is never billed, so the saving is in quota units only"
    elif prices.kind == "legacy":
        words += "; a legacy plan: usage inside its allowance costs nothing extra"
    elif prices.kind == "custom":
        words += "; custom (Enterprise) prices: as set in [prices]"
    if unpriced:
        words += f"; left out (storage unit not calibrated): {', '.join(unpriced)}"
    if drift is not None:
        words += f"; rest of the project moved {drift:+.0%}"
    elif drifted:
        words += "; rest of the project grew from nothing"
    if drifted:
        words += f" (over ±{windows.drift_threshold:.0%}: workload drift)"
    return Measurement(
        "measured",
        words,
        realized_monthly_usd=realized,
        baseline_daily_usd=base_usd,
        after_daily_usd=after_usd,
        cu_hours_monthly=cu_hours,
        window=(after_start, after_end),
        drift=drift,
        drifted=drifted,
        baseline=baseline,
        after=after,
    )


def _storage_matters(scope: Scope) -> bool:
    """A deleted branch or a project change saves mostly storage: without it, no number."""
    return scope.branch_deleted or scope.branch_id is None


def _drift(
    baseline: Rates,
    after: Rates,
    prices: PlanPrices,
    storage_unit: StorageUnit | None,
    threshold: float,
) -> tuple[float | None, bool]:
    """The rest of the project's relative move in USD a day, and whether it is drift.

    No control (a project-wide scope, or no other branch metered on both sides): (None,
    False). Storage without a calibrated unit is left out of both sides. A rest that grew
    from nothing has no ratio but is drift.
    """
    if baseline.control is None or after.control is None:
        return None, False
    common = set(baseline.control) & set(after.control)
    if not common:
        return None, False
    before = sum(daily_usd(baseline.control[b], prices, storage_unit)[0] for b in common)
    later = sum(daily_usd(after.control[b], prices, storage_unit)[0] for b in common)
    if before <= 0:
        return None, later > 0
    moved = later / before - 1.0
    return moved, abs(moved) > threshold
