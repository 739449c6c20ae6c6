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
    Bucket,
    StorageUnit,
)
from governor.savings.units import BYTES_PER_GB, HOURS_PER_GB_MONTH

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
        last_hour = self.now.replace(minute=0, second=0, microsecond=0)
        self.window_end = last_hour
        self.window_start = last_hour - timedelta(hours=WINDOW_HOURS)
        storage_start = self.now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=STORAGE_WINDOW_DAYS
        )
        for row in buckets:
            if row.branch_id is None:
                continue
            start, end = _aware(row.start), _aware(row.end)
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
