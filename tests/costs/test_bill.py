"""The bill from Neon's meters, checked against figures worked out by hand (notes §1.4, §3.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governor.costs.bill import (
    MeteredOrg,
    ProjectCounters,
    bill_from_objects,
    bill_metered,
    billing_period,
)
from governor.costs.calibrate import Calibration
from governor.model.consumption import (
    COMPUTE_UNIT_SECONDS,
    EXTRA_BRANCHES_MONTH,
    PUBLIC_NETWORK_TRANSFER_BYTES,
    ROOT_BRANCH_BYTES_MONTH,
    Bucket,
)
from tests.costs.rates import rates_for

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
HOURLY_FROM = datetime(2026, 12, 6, tzinfo=UTC)
BYTE_MONTHS = Calibration("org-1", "byte_months", "test")
REFUSED = Calibration("org-1", None, "the storage unit is ambiguous")


def row(
    granularity: str,
    start: datetime,
    metric: str,
    value: float,
    *,
    project: str = "pr-1",
    plan: str = "scale",
    period: str = "p-1",
) -> Bucket:
    length = timedelta(days=1) if granularity == "daily" else timedelta(hours=1)
    return Bucket(
        "org-1", project, None, granularity, start, start + length, period, plan,  # type: ignore[arg-type]
        metric, value,
    )  # fmt: skip


def compute_rows() -> list[Bucket]:
    """2 CU all the time: daily rows Dec 1-6 (the 6th overlaps the hourly ones), hourly
    rows from Dec 6 00:00 to Dec 7 12:00."""
    rows = [
        row("daily", DEC + timedelta(days=day), COMPUTE_UNIT_SECONDS, 2 * 24 * 3600)
        for day in range(6)
    ]
    rows += [
        row("hourly", HOURLY_FROM + timedelta(hours=hour), COMPUTE_UNIT_SECONDS, 2 * 3600)
        for hour in range(36)
    ]
    return rows


def metered(rows: list[Bucket], calibration: Calibration = BYTE_MONTHS) -> MeteredOrg:
    return MeteredOrg("org-1", "scale", rows, calibration, HOURLY_FROM, NOW)


def test_the_billing_period_is_the_utc_calendar_month() -> None:
    assert billing_period(NOW) == (DEC, datetime(2027, 1, 1, tzinfo=UTC))


def test_compute_so_far_counts_each_hour_once_and_projects_the_last_weeks_rate() -> None:
    bill = bill_metered(metered(compute_rows()), rates_for, now=NOW)
    compute = bill.projects[0].line("compute")
    # 5 whole days from daily rows (the 6th is covered by hourly rows) + 36 hourly hours
    assert compute.quantity == pytest.approx(5 * 48 + 36 * 2)
    assert compute.so_far_usd == pytest.approx(312 * 0.222)
    # 588 hours left of 744, at 2 CU-h an hour
    assert compute.projected_usd == pytest.approx((312 + 588 * 2) * 0.222)
    assert bill.coverage == "complete"
    assert bill.rate_card_dates == ("2026-05-28",)
    assert "taxes" in bill.exclusions
    assert "credits" in bill.exclusions


def test_extra_branches_are_netted_per_project_per_bucket() -> None:
    rows = [
        row("daily", DEC, EXTRA_BRANCHES_MONTH, 30 * 24),  # 30 child branches all day
        row("hourly", HOURLY_FROM, EXTRA_BRANCHES_MONTH, 30),  # and for one hour
        row("hourly", HOURLY_FROM, EXTRA_BRANCHES_MONTH, 20, project="pr-2"),  # within 24
    ]
    bill = bill_metered(metered(rows), rates_for, now=NOW)
    by_project = {project.project_id: project for project in bill.projects}
    months = (30 * 24 - 24 * 24) / 744 + (30 - 24) / 744
    assert by_project["pr-1"].line("extra_branches").so_far_usd == pytest.approx(months * 1.5)
    assert by_project["pr-2"].line("extra_branches").so_far_usd == 0


def test_a_timeframe_split_across_two_periods_is_netted_once_and_priced_at_each_plan() -> None:
    rows = [
        row("hourly", HOURLY_FROM, EXTRA_BRANCHES_MONTH, 10, plan="launch", period="p-1"),
        row("hourly", HOURLY_FROM, EXTRA_BRANCHES_MONTH, 20, plan="scale", period="p-2"),
        row("hourly", HOURLY_FROM, COMPUTE_UNIT_SECONDS, 3600, plan="launch", period="p-1"),
        row("hourly", HOURLY_FROM, COMPUTE_UNIT_SECONDS, 3600, plan="scale", period="p-2"),
    ]
    bill = bill_metered(metered(rows), rates_for, now=NOW)
    line = bill.projects[0].line("compute")
    assert line.so_far_usd == pytest.approx(0.106 + 0.222)
    # 30 branch-hours in the hour: launch's share 10/30 of (30 - 9), scale's 20/30 of (30 - 24)
    expected = (21 * 10 / 30 + 6 * 20 / 30) / 744 * 1.5
    assert bill.projects[0].line("extra_branches").so_far_usd == pytest.approx(expected)
    assert bill.rate_card_dates == ("2026-05-28",)


def test_public_transfer_beyond_the_org_allowance_is_shared_pro_rata() -> None:
    rows = [
        row("daily", DEC, PUBLIC_NETWORK_TRANSFER_BYTES, 150e9),
        row("daily", DEC, PUBLIC_NETWORK_TRANSFER_BYTES, 50e9, project="pr-2"),
    ]
    bill = bill_metered(metered(rows), rates_for, now=NOW)
    by_project = {project.project_id: project for project in bill.projects}
    # 200 GB against 100 included: half of each project's GB is billed
    assert by_project["pr-1"].line("public_transfer").so_far_usd == pytest.approx(7.5)
    assert by_project["pr-2"].line("public_transfer").so_far_usd == pytest.approx(2.5)


def test_storage_in_byte_months_is_priced_per_gb_month() -> None:
    rows = [row("daily", DEC, ROOT_BRANCH_BYTES_MONTH, 10e9 * 24 / 744)]  # 10 GB for a day
    bill = bill_metered(metered(rows), rates_for, now=NOW)
    line = bill.projects[0].line("root_storage")
    assert line.quantity == pytest.approx(10 * 24 / 744)
    assert line.so_far_usd == pytest.approx(10 * 24 / 744 * 0.35)


def test_storage_is_refused_not_guessed_when_the_unit_is_not_calibrated() -> None:
    rows = [*compute_rows(), row("daily", DEC, ROOT_BRANCH_BYTES_MONTH, 1e9)]
    bill = bill_metered(metered(rows, REFUSED), rates_for, now=NOW)
    project = bill.projects[0]
    assert project.line("root_storage").so_far_usd is None
    assert project.line("root_storage").note.startswith("refused")
    assert project.line("compute").so_far_usd == pytest.approx(312 * 0.222)
    assert bill.coverage == "partial"
    assert any("ambiguous" in note for note in bill.notes)


def test_a_failed_read_makes_the_coverage_partial() -> None:
    org = MeteredOrg(
        "org-1", "scale", compute_rows(), BYTE_MONTHS, HOURLY_FROM, NOW, gaps=("daily read failed",)
    )
    assert bill_metered(org, rates_for, now=NOW).coverage == "partial"


def test_a_free_org_shows_quota_units_and_no_dollars() -> None:
    projects = [ProjectCounters("pr-1", compute_time_seconds=50 * 3600, storage_bytes=0.25e9)]
    bill = bill_from_objects(
        "org-free", "free", projects, rates_for, now=NOW, refused_why="HTTP 403: Free"
    )
    compute, storage = bill.projects[0].lines
    assert bill.kind == "quota"
    assert (compute.quantity, compute.unit, compute.so_far_usd) == (50, "CU-h of 100", 0)
    assert (storage.quantity, storage.unit, storage.so_far_usd) == (0.25, "GB of 0.5", 0)
    assert bill.so_far_usd == bill.projected_usd == 0


def test_a_refused_paid_org_is_estimated_from_object_fields_and_labelled_so() -> None:
    projects = [ProjectCounters("pr-1", compute_time_seconds=100 * 3600, period_start=DEC)]
    bill = bill_from_objects(
        "org-1", "scale", projects, rates_for, now=NOW, refused_why="HTTP 403: legacy plan"
    )
    compute = bill.projects[0].line("compute")
    assert bill.kind == "estimated"
    assert compute.so_far_usd == pytest.approx(100 * 0.222)
    assert compute.projected_usd == pytest.approx(100 * 0.222 * 744 / 156)
    assert "estimates from object fields" in " ".join(bill.notes)


def test_a_legacy_org_is_billed_only_beyond_its_org_wide_allowance() -> None:
    projects = [
        ProjectCounters("pr-1", compute_time_seconds=300 * 3600, period_start=DEC),
        ProjectCounters("pr-2", compute_time_seconds=100 * 3600, period_start=DEC),
    ]
    bill = bill_from_objects(
        "org-1", "legacy_launch", projects, rates_for, now=NOW, refused_why="HTTP 403: legacy"
    )
    first, second = (project.line("compute") for project in bill.projects)
    # 400 CU-h against 300 included: a quarter of each project's compute is billed
    assert first.so_far_usd == pytest.approx(300 * 0.16 / 4)
    assert second.so_far_usd == pytest.approx(100 * 0.16 / 4)
    # projected to 744 h: 400 * 744 / 156 CU-h, of which all but 300 are billed
    projected_total = 400 * 744 / 156
    share = (projected_total - 300) / projected_total
    assert first.projected_usd == pytest.approx(300 * 744 / 156 * 0.16 * share)
    assert any("legacy plan" in note for note in bill.notes)
