"""Realized savings from Neon's meters: the drop, waiting, no data, drift, deleted branches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from governor.config import ConfigError, parse_config
from governor.costs.realized import Measurement, Rates, Scope, Windows, baseline_rates, measure
from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    COMPUTE_UNIT_SECONDS,
    EXTRA_BRANCHES_MONTH,
    ROOT_BRANCH_BYTES_MONTH,
    Bucket,
)
from governor.savings.prices import PlanPrices, Prices

PRICES = PlanPrices(compute_per_cu_hour=0.106, storage_per_gb_month=0.35)
CHANGED = datetime(2026, 11, 16, 10, 30, tzinfo=UTC)  # a November: 30 days
DAY = timedelta(days=1)
ORG, PROJECT, BRANCH = "org-1", "pr-1", "br-dev"
REST_BRANCH = "br-main"  # the rest of the project: the drift control
SCOPE = Scope(ORG, PROJECT, BRANCH)
# A 1 CU compute that never suspends burns 24 CU-hours a day; scale to zero keeps 4 of them.
ALWAYS_ON = 24 * 3600.0
SUSPENDING = 4 * 3600.0
REST = 10 * 3600.0  # the rest of the project's compute, CU-seconds a day


def bucket(day: datetime, metric: str, value: float, branch: str | None = None) -> Bucket:
    return Bucket(ORG, PROJECT, branch, "daily", day, day + DAY, "p1", "launch", metric, value)


def world(
    *,
    branch_compute: Callable[[datetime], float],
    rest_compute: Callable[[datetime], float] = lambda day: REST,
    days: int = 30,
    with_branch_rows: Callable[[datetime], bool] = lambda day: True,
) -> list[Bucket]:
    """Daily project and branch rows from 15 days before the change to ``days`` after."""
    rows: list[Bucket] = []
    first = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(days):
        day = first + n * DAY
        mine, rest = branch_compute(day), rest_compute(day)
        rows.append(bucket(day, COMPUTE_UNIT_SECONDS, mine + rest))
        rows.append(bucket(day, ROOT_BRANCH_BYTES_MONTH, 1e9))
        if with_branch_rows(day):
            rows.append(bucket(day, COMPUTE_UNIT_SECONDS, mine, BRANCH))
            rows.append(bucket(day, COMPUTE_UNIT_SECONDS, rest, REST_BRANCH))
            rows.append(bucket(day, ROOT_BRANCH_BYTES_MONTH, 1e9, REST_BRANCH))
    return rows


def after_change(value_before: float, value_after: float) -> Callable[[datetime], float]:
    return lambda day: value_before if day < CHANGED else value_after


def measured(buckets: list[Bucket], *, now: datetime) -> Measurement:
    """``measure`` of this file's change (SCOPE at CHANGED, Launch prices, no storage unit)."""
    return measure(
        scope=SCOPE,
        changed_at=CHANGED,
        now=now,
        buckets=buckets,
        prices=PRICES,
        storage_unit=None,
    )


def test_a_compute_that_now_suspends_shows_its_drop_as_the_realized_monthly_saving() -> None:
    buckets = world(branch_compute=after_change(ALWAYS_ON, SUSPENDING))
    result = measured(buckets, now=datetime(2026, 11, 26, tzinfo=UTC))
    assert result.status == "measured"
    # 20 CU-hours a day fewer x 30 days x $0.106
    assert result.realized_monthly_usd == pytest.approx(20 * 30 * 0.106, abs=0.01)
    assert result.cu_hours_monthly == pytest.approx(600)
    assert result.window == (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    assert not result.drifted
    assert result.drift == pytest.approx(0.0)


def test_before_the_after_window_closes_it_is_waiting_until_it_does() -> None:
    result = measured(
        world(branch_compute=after_change(ALWAYS_ON, SUSPENDING)),
        now=datetime(2026, 11, 20, tzinfo=UTC),
    )
    assert result.status == "waiting"
    assert result.realized_monthly_usd is None
    # settle 1 day (to the next whole day), 7 days of data, then Neon's 1 hour lag
    assert result.until == datetime(2026, 11, 25, 1, tzinfo=UTC)


def test_after_days_not_read_yet_are_waiting_then_no_data_once_the_grace_ends() -> None:
    buckets = world(branch_compute=after_change(ALWAYS_ON, SUSPENDING), days=22)

    def at(now: datetime) -> Measurement:
        return measured(buckets, now=now)

    soon = at(datetime(2026, 11, 25, 6, tzinfo=UTC))
    assert soon.status == "waiting"
    assert soon.until is not None
    assert soon.until > datetime(2026, 11, 25, 6, tzinfo=UTC)
    assert "5 of 7 days" in soon.note  # Nov 18-22 of 18-24
    late = at(datetime(2026, 11, 28, tzinfo=UTC))
    assert late.status == "no data"
    assert late.realized_monthly_usd is None


def test_a_change_without_consumption_read_before_it_is_no_data() -> None:
    buckets = [b for b in world(branch_compute=lambda day: ALWAYS_ON) if b.start >= CHANGED]
    result = measured(buckets, now=datetime(2026, 11, 26, tzinfo=UTC))
    assert result.status == "no data"
    assert "before the change" in result.note


def test_a_branch_never_read_from_v2_branches_is_no_data_not_a_zero_baseline() -> None:
    buckets = world(branch_compute=lambda day: ALWAYS_ON, with_branch_rows=lambda day: False)
    result = measured(buckets, now=datetime(2026, 11, 26, tzinfo=UTC))
    assert result.status == "no data"


def test_the_rest_of_the_project_moving_over_20_percent_is_flagged_as_drift() -> None:
    buckets = world(
        branch_compute=after_change(ALWAYS_ON, SUSPENDING),
        rest_compute=after_change(REST, REST * 1.5),
    )
    result = measured(buckets, now=datetime(2026, 11, 26, tzinfo=UTC))
    assert result.status == "measured"
    assert result.drifted
    assert result.drift == pytest.approx(0.5)
    assert "workload drift" in result.note
    # the scope's own drop is still what it is
    assert result.realized_monthly_usd == pytest.approx(20 * 30 * 0.106, abs=0.01)


def test_a_move_of_the_rest_within_20_percent_is_not_drift() -> None:
    buckets = world(
        branch_compute=after_change(ALWAYS_ON, SUSPENDING),
        rest_compute=after_change(REST, REST * 1.15),
    )
    result = measured(buckets, now=datetime(2026, 11, 26, tzinfo=UTC))
    assert result.drift == pytest.approx(0.15)
    assert not result.drifted


def test_a_deleted_branch_is_measured_by_the_projects_drop() -> None:
    """After deletion the branch has no rows at all; its storage and branch-hours leave
    the project's meters. Deleted with another branch the same day, both leave them: 15 GB
    of child storage and two billed branches of 13 (9 included)."""
    rows: list[Bucket] = []
    first = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(30):
        day = first + n * DAY
        alive = day < CHANGED
        rows.append(bucket(day, ROOT_BRANCH_BYTES_MONTH, 1e9))
        rows.append(bucket(day, COMPUTE_UNIT_SECONDS, REST))
        child_bytes = 2e9 + (15e9 if alive else 0.0)
        rows.append(bucket(day, CHILD_BRANCH_BYTES_MONTH, child_bytes))
        rows.append(bucket(day, EXTRA_BRANCHES_MONTH, 24 * (13 if alive else 11)))
        rows.append(bucket(day, COMPUTE_UNIT_SECONDS, REST, REST_BRANCH))
        rows.append(bucket(day, CHILD_BRANCH_BYTES_MONTH, 2e9, "br-other"))
        if alive:
            rows.append(bucket(day, CHILD_BRANCH_BYTES_MONTH, 10e9, BRANCH))
            rows.append(bucket(day, CHILD_BRANCH_BYTES_MONTH, 5e9, "br-deleted-too"))
    result = measure(
        scope=Scope(ORG, PROJECT, BRANCH, branch_deleted=True),
        changed_at=CHANGED,
        now=datetime(2026, 11, 26, tzinfo=UTC),
        buckets=rows,
        prices=PRICES,
        storage_unit="byte_months",
    )
    assert result.status == "measured"
    # 15 GB-months a day x $0.35 + two billable branches: 48 h a day / 744 x $1.50
    per_day = 15 * 0.35 + 48 / 744 * 1.50
    assert result.realized_monthly_usd == pytest.approx(per_day * 30, abs=0.01)
    assert "project's drop" in result.note
    # another branch deleted alongside is no workload change: the control is the branches
    # metered before and after (br-main's compute, br-other's storage), which held still
    assert result.drift == pytest.approx(0.0)
    assert not result.drifted


def test_a_deleted_branch_without_a_calibrated_storage_unit_is_no_data() -> None:
    rows = [
        bucket(datetime(2026, 11, 1, tzinfo=UTC) + n * DAY, CHILD_BRANCH_BYTES_MONTH, 1e9)
        for n in range(30)
    ]
    result = measure(
        scope=Scope(ORG, PROJECT, BRANCH, branch_deleted=True),
        changed_at=CHANGED,
        now=datetime(2026, 11, 26, tzinfo=UTC),
        buckets=rows,
        prices=PRICES,
        storage_unit=None,
    )
    assert result.status == "no data"
    assert "not calibrated" in result.note


def test_the_baseline_kept_at_success_is_the_one_measured_against() -> None:
    """Rates kept when the remediation succeeded win over series read later (which may have
    aged out or been rewritten)."""
    buckets = world(branch_compute=after_change(ALWAYS_ON, SUSPENDING))
    kept = baseline_rates(buckets, SCOPE, changed_at=CHANGED, windows=Windows())
    assert kept is not None
    assert kept.days == 14
    assert Rates.from_json(kept.as_json()) == kept
    only_after = [b for b in buckets if b.start >= CHANGED]
    result = measure(
        scope=SCOPE,
        changed_at=CHANGED,
        now=datetime(2026, 11, 26, tzinfo=UTC),
        buckets=only_after,
        prices=PRICES,
        storage_unit=None,
        baseline=Rates.from_json(kept.as_json()),
    )
    assert result.status == "measured"
    assert result.realized_monthly_usd == pytest.approx(20 * 30 * 0.106, abs=0.01)


def test_a_free_organization_saves_compute_hours_of_its_quota_never_dollars() -> None:
    result = measure(
        scope=SCOPE,
        changed_at=CHANGED,
        now=datetime(2026, 11, 26, tzinfo=UTC),
        buckets=world(branch_compute=after_change(ALWAYS_ON, SUSPENDING)),
        prices=Prices().for_plan("free"),
        storage_unit=None,
    )
    assert result.status == "measured"
    assert result.realized_monthly_usd == 0.0
    assert result.cu_hours_monthly == pytest.approx(600)
    assert "quota" in result.note


def test_branch_rows_read_only_hourly_are_matched_with_the_projects_hourly_rows() -> None:
    """The reader keeps v2/branches hourly and projects daily too: the daily project rows
    (no branch split) must not make the branch's share look like 0 after the change."""
    rows: list[Bucket] = []
    first = datetime(2026, 11, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    for n in range(30):
        day = first + n * DAY
        mine = ALWAYS_ON if day < CHANGED else SUSPENDING
        rows.append(bucket(day, COMPUTE_UNIT_SECONDS, mine + REST))
        rows.append(bucket(day, ROOT_BRANCH_BYTES_MONTH, 1e9))
    for n in range(30 * 24):
        start = first + n * hour
        mine = ALWAYS_ON if start < CHANGED else SUSPENDING
        for branch, value in ((None, (mine + REST) / 24), (BRANCH, mine / 24)):
            rows.append(
                Bucket(
                    ORG,
                    PROJECT,
                    branch,
                    "hourly",
                    start,
                    start + hour,
                    "p1",
                    "launch",
                    COMPUTE_UNIT_SECONDS,
                    value,
                )
            )
    result = measured(rows, now=datetime(2026, 11, 26, tzinfo=UTC))
    assert result.status == "measured"
    assert result.realized_monthly_usd == pytest.approx(20 * 30 * 0.106, abs=0.01)
    assert result.baseline is not None
    assert result.baseline.days == pytest.approx(14 + 10 / 24)  # hourly, up to the change's hour


def test_the_config_sets_the_windows_and_refuses_a_measurement_shorter_than_a_week() -> None:
    config = parse_config({"savings": {"settle": "2d", "measure_for": "14d"}})
    windows = config.savings.windows()
    assert (windows.settle, windows.measure_for, windows.drift_threshold) == (
        2 * DAY,
        14 * DAY,
        0.2,
    )
    with pytest.raises(ConfigError, match=r"\[savings.measure_for\] must be at least 7d"):
        parse_config({"savings": {"measure_for": "3d"}})
