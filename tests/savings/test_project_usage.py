"""Usage's project-level questions (restore window, snapshots, whole projects, plan fit)
from the project rows the store keeps, each figure worked out by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from governor.model.consumption import (
    COMPUTE_UNIT_SECONDS,
    EXTRA_BRANCHES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
)
from governor.savings.usage import Usage
from governor.store import Store
from governor.store import consumption as store_meters
from tests.savings.levers_world import GB, NOW, daily, hourly, meters


def test_project_storage_reads_daily_rows_in_the_calibrated_unit() -> None:
    # byte-hours: 10 GB held a day is 10e9 x 24 byte-hours; 30 days / 744 / 1e9 = 9.677
    # GB-months, per 744-h month x 744 / (24 x 30) = 10
    rows = daily(INSTANT_RESTORE_BYTES_MONTH, 10 * GB * 24)
    usage = Usage(rows, NOW, {"org-a": "byte_hours"})
    figure = usage.project_storage("pr-1", INSTANT_RESTORE_BYTES_MONTH)
    assert figure is not None
    assert (round(figure.per_month, 6), figure.days, figure.granularity) == (10.0, 30, "daily")


def test_project_storage_falls_back_to_the_hourly_window() -> None:
    # byte-months: 10 GB held an hour is 10e9 / 744; 168 h = 2.258 GB-months, x 744/168 = 10
    usage = meters(hourly(INSTANT_RESTORE_BYTES_MONTH, 10 * GB / 744))
    figure = usage.project_storage("pr-1", INSTANT_RESTORE_BYTES_MONTH)
    assert figure is not None
    assert (round(figure.per_month, 6), figure.granularity) == (10.0, "hourly")


def test_project_storage_is_unknown_when_not_read_or_not_calibrated() -> None:
    rows = daily(INSTANT_RESTORE_BYTES_MONTH, 1.0)
    assert Usage(rows, NOW, {"org-a": None}).project_storage("pr-1", "x") is None
    assert Usage(rows, NOW, {}).project_storage("pr-1", INSTANT_RESTORE_BYTES_MONTH) is None
    assert meters(rows).project_storage("pr-other", INSTANT_RESTORE_BYTES_MONTH) is None
    # a read project whose metric Neon omitted: 0, not unknown
    absent = meters(rows).project_storage("pr-1", "snapshot_storage_bytes_month")
    assert absent is not None
    assert absent.per_month == 0.0


def test_project_compute_is_cu_hours_per_730_hour_month() -> None:
    usage = meters(daily(COMPUTE_UNIT_SECONDS, 12 * 3600))
    figure = usage.project_cu_hours("pr-1")
    # 12 CU-h a day x 30 = 360 CU-h, x 730/720 = 365
    assert figure is not None
    assert round(figure.per_month, 6) == 365.0


def test_extra_branch_hours_are_netted_per_hour_as_neon_bills_them() -> None:
    # half the hours 12 child branches, half 8; 9 allowed: 84 h x 3 over (the 8s count 0,
    # not -1), 252 branch-hours; x 730/168 / 744 = 1.47177 branch-months a month
    rows = hourly(EXTRA_BRANCHES_MONTH, 12.0, hours=84) + hourly(EXTRA_BRANCHES_MONTH, 8.0)[84:]
    figure = meters(rows).extra_branch_months("pr-1", 9)
    assert figure is not None
    assert figure.per_month == pytest.approx(252 * 730 / 168 / 744)
    assert meters(daily(EXTRA_BRANCHES_MONTH, 300.0)).extra_branch_months("pr-1", 9) is None


def test_usage_for_hands_the_estimates_the_projects_own_rows(tmp_path: Path) -> None:
    """Before: usage_for read branch rows only, so no project-level line was ever measured."""
    rows = daily(COMPUTE_UNIT_SECONDS, 12 * 3600) + hourly(EXTRA_BRANCHES_MONTH, 12.0)
    with Store.open(tmp_path / "g.db") as store:
        store.call(store_meters.write_buckets, rows, NOW - timedelta(minutes=5))
        usage = store.call(store_meters.usage_for, NOW)
    compute = usage.project_cu_hours("pr-1")
    assert compute is not None
    assert round(compute.per_month, 6) == 365.0
    extra = usage.extra_branch_months("pr-1", 9)
    assert extra is not None
    assert extra.per_month > 0
