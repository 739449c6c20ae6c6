"""Estimates follow the plan Neon states and the meters Neon keeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from governor.model.consumption import Bucket
from governor.model.findings import CostPart, Estimate
from governor.neon.models import Organization, Project
from governor.policy.resources import SnapshotIndex
from governor.savings import estimate
from governor.savings.totals import count_once
from governor.savings.usage import Usage
from tests.savings.test_estimates import (
    AUTOSUSPEND,
    DELETE_BRANCH,
    GB,
    NOW,
    PRICES,
    branch,
    compute,
    estimate_of,
    finding,
    world,
)


def test_a_free_organization_gets_quota_units_and_no_dollars() -> None:
    last_active = (NOW - timedelta(hours=412)).isoformat()
    snapshot = world(plan="free", endpoints=[compute(suspend=-1, last_active=last_active)])
    result = estimate_of(AUTOSUSPEND, snapshot, PRICES)
    assert (result.monthly_usd, result.kind, result.parts) == (0.0, "quota", ())
    assert "0.25 CU x 412.0 idle h = 103.0 CU-h of the 100 CU-h per project per month" in (
        result.method
    )
    assert "never billed" in result.method


def test_a_legacy_marketplace_plans_saving_inside_its_allowance_counts_zero_and_says_so() -> None:
    snapshot = world(plan="launch", endpoints=[compute(suspend=-1)])
    snapshot.organizations = [
        Organization.from_api(
            {"id": "org-a", "name": "Acme", "plan": "launch", "managed_by": "vercel"}
        )
    ]
    result = estimate_of(DELETE_BRANCH, snapshot, PRICES)
    assert result.monthly_usd == 0.0
    assert "inside the legacy plan's allowance (300 CU-h a month" in result.method
    # beyond the allowance: 0.25 CU x 730 h x 0.16 = 29.20 at the legacy overage
    assert "beyond it, $29.20 at the $0.16 overage" in result.method
    assert "plan legacy_launch" in result.method


def test_an_enterprise_organization_gets_no_built_in_dollars() -> None:
    snapshot = world(plan="enterprise", branches=[branch(logical_size=10 * GB)])
    result = estimate_of(DELETE_BRANCH, snapshot, PRICES)
    assert result.monthly_usd == 0.0
    assert "set your own prices in [prices.plans.enterprise]" in result.method


def test_the_plan_is_read_from_the_project_owners_subscription_type() -> None:
    snapshot = world(plan="launch", branches=[branch(logical_size=10 * GB)])
    snapshot.projects = [
        Project.from_api(
            {
                "id": "pr-1",
                "name": "shop",
                "org_id": "org-a",
                "owner": {"subscription_type": "free_v3"},
            }
        )
    ]
    assert estimate_of(DELETE_BRANCH, snapshot, PRICES).kind == "quota"


def test_resize_prices_the_valid_target_not_the_asked_minimum() -> None:
    # 16-16 CU asked for 0.25 keeping the maximum: Neon's range spans at most 8 CU -> 8-16
    snapshot = world(endpoints=[compute(min_cu=16, suspend=-1, autoscaling_limit_max_cu=16)])
    ask = finding("endpoint", "ep-1", {"type": "resize", "min_cu": 0.25, "max_cu": 16})
    result = estimate_of(ask, snapshot, PRICES)
    # (16 - 8) x 730 h x 0.106 = 619.04, not (16 - 0.25) x 730 x 0.106 = 1218.70
    assert result.monthly_usd == 619.04
    assert "minimum 16 CU -> 8 CU" in result.method


def test_a_zero_active_time_on_a_usage_based_plan_is_unknown_not_zero_dollars() -> None:
    period_start = (NOW - timedelta(days=10)).isoformat()
    snapshot = world(
        branches=[branch(active_time_seconds=0)],
        endpoints=[compute(min_cu=8, suspend=300)],
        project_extra={"consumption_period_start": period_start},
    )
    ask = finding("endpoint", "ep-1", {"type": "resize", "min_cu": 0.25, "max_cu": 8})
    result = estimate_of(ask, snapshot, PRICES)
    assert result.monthly_usd == 0.0
    assert "saving unknown" in result.method
    assert "active_time_seconds is 0" in result.method


def hourly(branch_id: str, hours: int, cu_seconds: float, **extra: Any) -> list[Bucket]:
    end = NOW.replace(minute=0)
    return [
        Bucket(
            org_id="org-a",
            project_id="pr-1",
            branch_id=branch_id,
            granularity="hourly",
            start=end - timedelta(hours=n + 1),
            end=end - timedelta(hours=n),
            period_id=None,
            period_plan="launch",
            metric="compute_unit_seconds",
            value=cu_seconds,
        )
        for n in range(hours)
    ]


def test_a_never_suspending_compute_is_priced_from_its_measured_floor_hours() -> None:
    snapshot = world(endpoints=[compute(min_cu=0.5, suspend=-1)])
    # 120 of the last 168 h at the floor (0.5 CU x 3600 = 1800 CU-s), 48 h busier
    usage = Usage(hourly("br-1", 120, 1800.0) + hourly("br-1", 168, 7200.0)[120:], NOW)
    result = estimate(AUTOSUSPEND, SnapshotIndex(snapshot), PRICES, usage)
    # 120 / 168 x 730 = 521.43 -> 521.4 h; 0.5 CU x 521.4 h x 0.106 = 27.6342 -> 27.63
    assert (result.monthly_usd, result.kind) == (27.63, "measured")
    assert "measured: 120 of the last 168 h of branch br-1 at the floor" in result.method
    assert result.parts == (CostPart("compute_floor:ep-1", 27.63),)


def test_without_usage_the_estimate_is_an_object_field_bound() -> None:
    long_ago = (NOW - timedelta(days=40)).isoformat()
    snapshot = world(endpoints=[compute(suspend=-1, last_active=long_ago)])
    result = estimate(AUTOSUSPEND, SnapshotIndex(snapshot), PRICES, None)
    assert result.kind == "estimated"


def test_a_stale_branch_with_a_never_suspending_compute_is_counted_once() -> None:
    long_ago = (NOW - timedelta(days=40)).isoformat()
    snapshot = world(
        branches=[branch(logical_size=10 * GB)],
        endpoints=[compute(suspend=-1, last_active=long_ago)],
    )
    index = SnapshotIndex(snapshot)
    delete = estimate(DELETE_BRANCH, index, PRICES)
    suspend = estimate(AUTOSUSPEND, index, PRICES)
    assert (delete.monthly_usd, suspend.monthly_usd) == (22.78, 19.35)
    totals = count_once([delete, suspend, None, Estimate(0.0, "key", "risk")])
    assert totals.monthly_usd == 22.78  # not 42.13
    assert totals.counted_twice_usd == 19.35
    assert totals.note == "$19.35 appears under 2 findings; counted once."


def test_a_branch_delete_prices_measured_child_storage_in_the_calibrated_unit() -> None:
    snapshot = world(branches=[branch(logical_size=50 * GB)])
    day = NOW.replace(hour=0, minute=0)
    # byte-months: 2 GB held a day is 2e9 x 24/744 byte-months a day, for 30 days
    rows = [
        Bucket(
            org_id="org-a",
            project_id="pr-1",
            branch_id="br-1",
            granularity="daily",
            start=day - timedelta(days=n + 1),
            end=day - timedelta(days=n),
            period_id=None,
            period_plan="launch",
            metric="child_branch_bytes_month",
            value=2e9 * 24 / 744,
        )
        for n in range(30)
    ]
    usage = Usage(rows, NOW, {"org-a": "byte_months"})
    result = estimate(DELETE_BRANCH, SnapshotIndex(snapshot), PRICES, usage)
    # 2 GB-month per 744-h month x 730/744 x 0.35 = 0.6868 -> 0.69 (not 50 GB's 17.17)
    assert (result.monthly_usd, result.kind) == (0.69, "measured")
    assert "child_branch_bytes_month over the last 30 days (byte-months)" in result.method
    uncalibrated = Usage(rows, NOW, {"org-a": None})
    fallback = estimate(DELETE_BRANCH, SnapshotIndex(snapshot), PRICES, uncalibrated)
    assert fallback.kind == "estimated"  # storage unit unknown: logical_size bound instead


def test_a_branch_delete_prices_child_storage_from_the_hourly_rows_the_reader_keeps() -> None:
    """The reader takes branches hourly only (168 h): without daily rows, those decide."""
    snapshot = world(branches=[branch(logical_size=50 * GB)])
    rows = [
        Bucket(**{**vars_of(row), "metric": "child_branch_bytes_month", "value": 2e9 / 744})
        for row in hourly("br-1", 168, 0.0)
    ]
    usage = Usage(rows, NOW, {"org-a": "byte_months"})
    result = estimate(DELETE_BRANCH, SnapshotIndex(snapshot), PRICES, usage)
    # 2 GB held all week: 2 GB-month per 744-h month, as the daily case: 0.69
    assert (result.monthly_usd, result.kind) == (0.69, "measured")
    assert "over the last 7 days" in result.method


def vars_of(row: Bucket) -> dict[str, Any]:
    return {name: getattr(row, name) for name in Bucket.__dataclass_fields__}


def test_three_stale_deletes_with_one_branch_over_the_allowance_total_one_fee() -> None:
    """Any one delete saves the fee, but three save it once: the totals never claim more
    fees than branches over the allowance."""
    long_ago = (NOW - timedelta(days=40)).isoformat()
    children = [
        branch(f"br-{n}", parent_id="br-root", logical_size=0, created_at=long_ago)
        for n in range(1, 11)
    ]
    snapshot = world(branches=[branch("br-root"), *children])
    index = SnapshotIndex(snapshot)  # 11 branches, Launch includes 10: one over
    deletes = [
        estimate(replace(DELETE_BRANCH, resource_id=f"br-{n}"), index, PRICES) for n in (2, 5, 9)
    ]
    fee = round(1.50 * 730 / 744, 2)  # 1.47
    assert all(result.monthly_usd == fee for result in deletes)
    assert count_once(deletes).monthly_usd == fee  # not 4.41
