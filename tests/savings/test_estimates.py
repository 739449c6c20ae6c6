"""Savings estimates: each formula against numbers worked out by hand, plan choice, gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from governor.model.actions import parse_action
from governor.model.findings import Estimate, Finding
from governor.model.snapshot import IncompletePart, Snapshot
from governor.neon.models import Branch, Endpoint, Organization, Project
from governor.policy.resources import SnapshotIndex
from governor.savings import estimate
from governor.savings.prices import PlanPrices, Prices

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GB = 10**9  # Neon bills decimal GB
PRICES = Prices()  # launch: $0.106/CU-hour, $0.35/GB-month, 10 branches, $1.50 extra


def organization(plan: str | None = "launch") -> Organization:
    data: dict[str, Any] = {"id": "org-a", "name": "Acme"}
    if plan is not None:
        data["plan"] = plan
    return Organization.from_api(data)


def project(**extra: Any) -> Project:
    return Project.from_api({"id": "pr-1", "name": "shop", "org_id": "org-a", **extra})


def branch(branch_id: str = "br-1", **extra: Any) -> Branch:
    return Branch.from_api({"id": branch_id, "project_id": "pr-1", "name": branch_id, **extra})


def compute(
    endpoint_id: str = "ep-1",
    *,
    min_cu: float = 0.25,
    suspend: int = 0,
    branch_id: str = "br-1",
    **extra: Any,
) -> Endpoint:
    return Endpoint.from_api(
        {
            "id": endpoint_id,
            "project_id": "pr-1",
            "branch_id": branch_id,
            "autoscaling_limit_min_cu": min_cu,
            "autoscaling_limit_max_cu": max(min_cu, 4),
            "suspend_timeout_seconds": suspend,
            **extra,
        }
    )


def world(
    *,
    plan: str | None = "launch",
    branches: list[Branch] | None = None,
    endpoints: list[Endpoint] | None = None,
    project_extra: dict[str, Any] | None = None,
    incomplete: list[IncompletePart] | None = None,
) -> Snapshot:
    return Snapshot(
        taken_at=NOW,
        organizations=[organization(plan)],
        projects=[project(**(project_extra or {}))],
        branches=branches if branches is not None else [branch()],
        endpoints=endpoints or [],
        incomplete=incomplete or [],
        org_ids=["org-a"],
    )


def estimate_of(finding: Finding, snapshot: Snapshot, prices: Prices) -> Estimate:
    return estimate(finding, SnapshotIndex(snapshot), prices)


def finding(resource_type: Any, resource_id: str, action: dict[str, Any]) -> Finding:
    return Finding(
        policy="test-policy",
        resource_type=resource_type,
        resource_id=resource_id,
        org_id="org-a",
        project_id="pr-1",
        name=resource_id,
        severity="medium",
        summary="selected",
        action=parse_action(action),
        mode="report",
        fingerprint="fp",
    )


DELETE_BRANCH = finding("branch", "br-1", {"type": "delete"})
AUTOSUSPEND = finding("endpoint", "ep-1", {"type": "set_autosuspend", "seconds": 300})


def resize_to(min_cu: Any) -> Finding:
    return finding("endpoint", "ep-1", {"type": "resize", "min_cu": min_cu, "max_cu": 8})


# Deleting a branch -------------------------------------------------------------------


def test_deleting_a_branch_saves_its_storage_and_its_never_suspending_compute() -> None:
    snapshot = world(
        branches=[branch(logical_size=10 * GB)],
        endpoints=[compute(suspend=-1), compute("ep-2", min_cu=2)],
    )
    result = estimate_of(DELETE_BRANCH, snapshot, PRICES)
    # storage 10 GB x 730/744 GB-month x 0.35 = 3.4341 -> 3.43 (decimal GB, 744-h GB-month);
    # ep-1 0.25 CU x 730 h x 0.106 = 19.345 -> 19.35; ep-2 suspends; 3.43 + 19.35 = 22.78
    assert result.monthly_usd == 22.78
    assert result.kind == "estimated"
    assert (
        "storage 10.00 GB (logical_size 10,000,000,000 bytes / 10^9) x 730/744 GB-month "
        "x $0.35/GB-month = $3.43"
    ) in result.method
    assert "shares storage with its parent" in result.method
    assert "ep-1 never scales to zero (suspend_timeout_seconds is -1)" in result.method
    assert "0.25 CU x 730 h x $0.106/CU-hour = $19.35" in result.method
    assert "ep-2 suspends when idle, so about $0" in result.method
    assert "the project has 1 of 10 included branches" in result.method
    assert "Total $22.78/month" in result.method
    assert "plan launch (the organization's plan is 'launch'), taken on 2026-11-12 from " in (
        result.method
    )
    assert {part.key: part.monthly_usd for part in result.parts} == {
        "storage:br-1": 3.43,
        "compute_floor:ep-1": 19.35,
    }


def test_a_compute_above_16_cu_never_scales_to_zero_even_with_autosuspend() -> None:
    snapshot = world(branches=[branch(logical_size=0)], endpoints=[compute(min_cu=18, suspend=300)])
    result = estimate_of(DELETE_BRANCH, snapshot, PRICES)
    # 18 CU x 730 h x 0.106 = 1392.84
    assert result.monthly_usd == 1392.84
    assert "minimum 18 CU is above 16 CU" in result.method


def test_deleting_a_branch_beyond_the_included_count_saves_the_extra_branch_price() -> None:
    branches = [branch(logical_size=GB)] + [branch(f"br-{n}") for n in range(2, 12)]
    result = estimate_of(DELETE_BRANCH, world(branches=branches), PRICES)
    # 1 GB x 730/744 x 0.35 = 0.3434 -> 0.34, plus the 11th branch of 10 included:
    # 730/744 branch-month x 1.50 = 1.4718 -> 1.47 (Neon bills branches per 744-h month)
    assert result.monthly_usd == 1.81
    assert (
        "11 branches and the plan includes 10, so 1 extra branch x 730/744 branch-month "
        "x $1.50/extra-branch-month = $1.47"
    ) in result.method


def test_the_extra_branch_charge_is_not_counted_when_the_branch_list_is_incomplete() -> None:
    branches = [branch(logical_size=GB)] + [branch(f"br-{n}") for n in range(2, 12)]
    partial = [IncompletePart("branches", "HTTP 503", "org-a", "pr-1")]
    result = estimate_of(DELETE_BRANCH, world(branches=branches, incomplete=partial), PRICES)
    assert result.monthly_usd == 0.34  # 1 GB x 730/744 x 0.35 = 0.3434
    assert "branch count unknown" in result.method


def test_a_branch_with_unknown_size_and_no_computes_counts_zero_and_says_why() -> None:
    result = estimate_of(DELETE_BRANCH, world(branches=[branch()]), PRICES)
    assert result.monthly_usd == 0.0
    assert "storage unknown (logical_size missing)" in result.method
    assert "no computes" in result.method


def test_a_branch_missing_from_the_snapshot_estimates_zero() -> None:
    result = estimate_of(DELETE_BRANCH, world(branches=[]), PRICES)
    assert result.monthly_usd == 0.0
    assert "not in the snapshot" in result.method


def test_setting_an_expiry_saves_what_deleting_would_once_it_expires() -> None:
    expiring = finding("branch", "br-1", {"type": "set_expiry", "after": "7d"})
    result = estimate_of(expiring, world(branches=[branch(logical_size=2 * GB)]), PRICES)
    assert result.monthly_usd == 0.69  # 2 GB x 730/744 x 0.35 = 0.6868
    assert result.method.startswith("Expiring branch br-1 (saves this once it is deleted")


# Plans -------------------------------------------------------------------------------


def test_the_organization_plan_picks_the_prices() -> None:
    snapshot = world(plan="scale", endpoints=[compute(suspend=-1)])
    result = estimate_of(DELETE_BRANCH, snapshot, PRICES)
    # scale: 0.25 CU x 730 h x 0.222 = 40.515 -> 40.52; 1 of 25 included branches
    assert result.monthly_usd == 40.52
    assert "plan scale (the organization's plan is 'scale'), taken on 2026-11-12" in result.method
    assert "1 of 25 included branches" in result.method


@pytest.mark.parametrize(
    ("plan", "why"),
    [
        (
            "platinum",
            "plan unknown: the organization's plan is 'platinum', which is not a plan the "
            "rate card knows, so the default plan",
        ),
        (
            None,
            "plan unknown: neither the organization's plan nor the project owner's "
            "subscription_type is known, so the default plan",
        ),
    ],
)
def test_an_unpriced_or_unknown_plan_falls_back_to_the_default_plan(
    plan: str | None, why: str
) -> None:
    prices = Prices(
        default_plan="scale",
        plans={
            "scale": PlanPrices(compute_per_cu_hour=0.2, storage_per_gb_month=0.5),
            "launch": PlanPrices(compute_per_cu_hour=0.1, storage_per_gb_month=0.3),
        },
        taken_on="2027-01-02",
        source="https://example.test/prices",
    )
    snapshot = world(plan=plan, branches=[branch(logical_size=4 * GB)])
    result = estimate_of(DELETE_BRANCH, snapshot, prices)
    assert result.monthly_usd == 1.96  # 4 GB x 730/744 x 0.50 = 1.9624 on the default, scale
    assert f"plan scale ({why}), taken on 2027-01-02 from https://example.test/prices" in (
        result.method
    )


# Autosuspend -------------------------------------------------------------------------


def test_autosuspend_saves_the_idle_hours_since_the_last_activity() -> None:
    last_active = (NOW - timedelta(hours=100)).isoformat()
    started = "2026-10-01T00:00:00Z"
    snapshot = world(
        endpoints=[compute(min_cu=0.5, suspend=-1, last_active=last_active, started_at=started)]
    )
    result = estimate_of(AUTOSUSPEND, snapshot, PRICES)
    # 0.5 CU x 100 h x 0.106 = 5.30
    assert result.monthly_usd == 5.30
    assert "100.0 h before the snapshot" in result.method
    assert "0.5 CU x 100.0 idle h x $0.106/CU-hour = $5.30. Total $5.30/month" in result.method
    assert "counting only the idle stretch" in result.method


def test_a_compute_idle_for_over_a_month_would_be_suspended_all_month() -> None:
    long_ago = (NOW - timedelta(days=40)).isoformat()
    snapshot = world(endpoints=[compute(suspend=-1, last_active=long_ago)])
    result = estimate_of(AUTOSUSPEND, snapshot, PRICES)
    assert result.monthly_usd == 19.35  # 0.25 CU x 730 h x 0.106 = 19.345
    assert "idle for over a month, so it would be suspended all month" in result.method


def test_autosuspend_without_activity_timestamps_claims_nothing() -> None:
    result = estimate_of(AUTOSUSPEND, world(endpoints=[compute(suspend=-1)]), PRICES)
    assert result.monthly_usd == 0.0
    assert "idle hours unknown" in result.method


def test_autosuspend_saves_nothing_above_16_cu() -> None:
    result = estimate_of(AUTOSUSPEND, world(endpoints=[compute(min_cu=20, suspend=-1)]), PRICES)
    assert result.monthly_usd == 0.0
    assert "never scale to zero" in result.method


# Resize ------------------------------------------------------------------------------


def test_resizing_a_never_suspending_compute_saves_the_difference_all_month() -> None:
    snapshot = world(endpoints=[compute(min_cu=8, suspend=-1)])
    result = estimate_of(resize_to(0.25), snapshot, PRICES)
    # (8 - 0.25) x 730 h x 0.106 = 599.695 -> 599.70
    assert result.monthly_usd == 599.70
    assert "minimum 8 CU -> 0.25 CU" in result.method
    assert "7.75 CU x 730.0 h x $0.106/CU-hour = $599.70" in result.method


def test_resizing_a_suspending_compute_counts_its_active_hours() -> None:
    period_start = (NOW - timedelta(days=10)).isoformat()
    snapshot = world(
        branches=[branch(active_time_seconds=36_000)],
        endpoints=[compute(min_cu=8, suspend=300)],
        project_extra={"consumption_period_start": period_start},
    )
    result = estimate_of(resize_to(0.25), snapshot, PRICES)
    # active 36,000 s of 240 h -> 36000 / 864000 x 730 = 30.4167, shown and used as 30.4 h;
    # 7.75 x 30.4 x 0.106 = 24.9736 -> 24.97
    assert result.monthly_usd == 24.97
    assert "active 36,000 s of the 240.0 h since the billing period began" in result.method
    assert "30.4 h of 730" in result.method


def test_resizing_a_compute_idle_for_a_month_saves_nothing() -> None:
    long_ago = (NOW - timedelta(days=35)).isoformat()
    snapshot = world(endpoints=[compute(min_cu=8, suspend=300, suspended_at=long_ago)])
    result = estimate_of(resize_to(0.25), snapshot, PRICES)
    assert result.monthly_usd == 0.0
    assert "last active over a month ago" in result.method


def test_resizing_with_unknown_active_hours_claims_nothing() -> None:
    result = estimate_of(resize_to(0.25), world(endpoints=[compute(min_cu=8, suspend=300)]), PRICES)
    assert result.monthly_usd == 0.0
    assert "active hours unknown" in result.method


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (8, "is not below the current 8 CU"),
    ],
)
def test_resizing_without_a_lower_target_saves_nothing(target: Any, message: str) -> None:
    snapshot = world(endpoints=[compute(min_cu=8, suspend=-1)])
    result = estimate_of(resize_to(target), snapshot, PRICES)
    assert result.monthly_usd == 0.0
    assert message in result.method


# Risk and everything else ------------------------------------------------------------


def test_revoking_a_key_saves_risk_not_money() -> None:
    key = finding("api_key", "42", {"type": "revoke"})
    result = estimate_of(key, world(), PRICES)
    assert (result.monthly_usd, result.kind) == (0.0, "risk")
    assert "saves risk, not money" in result.method


@pytest.mark.parametrize(
    ("resource_type", "action", "reason"),
    [
        ("endpoint", {"type": "suspend"}, "a one-off suspend"),
        ("project", {"type": "none"}, "the policy only reports"),
        ("endpoint", {"type": "delete"}, "not an action with a cost"),
    ],
)
def test_other_actions_estimate_zero_and_say_why(
    resource_type: str, action: dict[str, Any], reason: str
) -> None:
    result = estimate_of(finding(resource_type, "x-1", action), world(), PRICES)
    assert (result.monthly_usd, result.kind) == (0.0, "estimated")
    assert reason in result.method


def test_an_endpoint_missing_from_the_snapshot_estimates_zero() -> None:
    for action in (AUTOSUSPEND, resize_to(0.25)):
        result = estimate_of(action, world(endpoints=[]), PRICES)
        assert result.monthly_usd == 0.0
        assert "not in the snapshot" in result.method


def test_estimates_follow_a_snapshot_that_changed_between_calls() -> None:
    snapshot = world(branches=[branch(logical_size=GB)])
    assert estimate_of(DELETE_BRANCH, snapshot, PRICES).monthly_usd == 0.34
    snapshot.branches = [branch(logical_size=2 * GB)]
    assert estimate_of(DELETE_BRANCH, snapshot, PRICES).monthly_usd == 0.69


def test_odd_field_values_never_crash_an_estimate_of() -> None:
    snapshot = world(
        branches=[branch(active_time_seconds="lots")],
        endpoints=[compute(min_cu=8, suspend=300, last_active="2026-11-26T12:00:00")],
        project_extra={"consumption_period_start": "last tuesday"},
    )
    naive_autosuspend = world(endpoints=[compute(suspend=-1, last_active="2026-11-26T12:00:00")])
    assert estimate_of(resize_to(0.25), snapshot, PRICES).monthly_usd == 0.0
    # A zone-less timestamp is read as UTC: idle 24 h -> 0.25 CU x 24 h x 0.106 = 0.636
    assert estimate_of(AUTOSUSPEND, naive_autosuspend, PRICES).monthly_usd == 0.64


def test_values_out_of_range_give_no_estimate_rather_than_an_error() -> None:
    huge = world(branches=[branch(logical_size=10**400)])
    result = estimate_of(DELETE_BRANCH, huge, PRICES)
    assert result.monthly_usd == 0.0
    assert "out of range" in result.method


def test_a_negative_size_from_the_api_claims_no_saving() -> None:
    result = estimate_of(DELETE_BRANCH, world(branches=[branch(logical_size=-5 * GB)]), PRICES)
    assert result.monthly_usd >= 0.0
    assert "logical_size negative" in result.method
