"""The storage unit per organization: byte-hours, byte-months, or refused with why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from governor.costs.calibrate import calibrate, gb_months
from governor.model.consumption import ROOT_BRANCH_BYTES_MONTH, Bucket

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)
DAY = datetime(2026, 12, 6, tzinfo=UTC)
SIZE = 31_600_000  # bytes of logical size


def daily(project: str, value: float, *, day: datetime = DAY, org: str = "org-1") -> Bucket:
    return Bucket(
        org, project, None, "daily", day, day + timedelta(days=1), "p", "scale",
        ROOT_BRANCH_BYTES_MONTH, value,
    )  # fmt: skip


def test_a_daily_value_24_times_the_logical_size_means_byte_hours() -> None:
    found = calibrate("org-1", [daily("pr-1", SIZE * 24)], {"pr-1": SIZE}, now=NOW)
    assert found.unit == "byte_hours"
    assert gb_months(SIZE * 24 * 31, "byte_hours") == pytest.approx(SIZE / 1e9)


def test_a_daily_value_24_744ths_of_the_logical_size_means_byte_months() -> None:
    found = calibrate("org-1", [daily("pr-1", SIZE * 24 / 744)], {"pr-1": SIZE}, now=NOW)
    assert found.unit == "byte_months"
    assert "byte-months" in found.why


def test_a_ratio_that_fits_neither_unit_refuses_storage_and_says_why() -> None:
    found = calibrate("org-1", [daily("pr-1", SIZE * 1.0)], {"pr-1": SIZE}, now=NOW)
    assert found.unit is None
    assert "ambiguous" in found.why
    assert "V/L=1" in found.why


def test_projects_that_disagree_refuse_storage() -> None:
    rows = [daily("pr-1", SIZE * 24), daily("pr-2", SIZE * 24 / 744)]
    found = calibrate("org-1", rows, {"pr-1": SIZE, "pr-2": SIZE}, now=NOW)
    assert found.unit is None
    assert "pr-1" in found.why
    assert "pr-2" in found.why


def test_only_the_last_complete_day_counts() -> None:
    today = daily("pr-1", SIZE * 3, day=datetime(2026, 12, 7, tzinfo=UTC))  # not over yet
    older = daily("pr-1", SIZE * 1.0, day=datetime(2026, 12, 5, tzinfo=UTC))
    found = calibrate("org-1", [older, daily("pr-1", SIZE * 24), today], {"pr-1": SIZE}, now=NOW)
    assert found.unit == "byte_hours"


def test_without_a_one_root_project_with_a_size_the_unit_is_refused() -> None:
    found = calibrate("org-1", [daily("pr-1", SIZE * 24)], {"pr-1": None}, now=NOW)
    assert found.unit is None
    assert "cannot be told" in found.why
    other_org = calibrate("org-2", [daily("pr-1", SIZE * 24)], {"pr-1": SIZE}, now=NOW)
    assert other_org.unit is None
