"""Plan fit and guardrails, report only: the measured difference, worked out by hand."""

from __future__ import annotations

from datetime import timedelta

from governor.model.consumption import COMPUTE_UNIT_SECONDS, ROOT_BRANCH_BYTES_MONTH
from governor.model.findings import CostPart
from tests.savings.levers_world import (
    GB,
    NOW,
    branch,
    daily,
    estimate_of,
    finding,
    held,
    meters,
    organization,
    root,
    world,
)

PLAN_FIT = finding("organization", "org-a", {"type": "none"}, {"plan": "scale"})
SPENDING = finding("organization", "org-a", {"type": "none"}, {"spending_limit_cents": None})
# 24 CU-h a day for 30 days: 720 CU-h, x 730/720 = 730 CU-h a month
A_CU_ALL_MONTH = daily(COMPUTE_UNIT_SECONDS, 24 * 3600)


def test_a_scale_organization_saves_the_compute_rate_difference_minus_launch_branch_fees() -> None:
    children = [branch(f"c{n:02}") for n in range(12)]
    snapshot = world(plan="scale", branches=[root(), *children])
    result = estimate_of(PLAN_FIT, snapshot, meters(A_CU_ALL_MONTH))
    # 730 CU-h x (0.222 - 0.106) = 84.68; Launch allows 9 children, Scale 24: 3 more over,
    # 3 x 730/744 = 2.94 branch-months x 1.50 = 4.4153 -> 4.42; 84.68 - 4.42 = 80.26
    assert (result.monthly_usd, result.kind) == (80.26, "measured")
    assert result.parts == (CostPart("plan_fit:org-a", 80.26),)
    assert "Report only" in result.method


def test_a_launch_organization_inside_free_limits_saves_its_whole_metered_bill() -> None:
    rows = [*A_CU_ALL_MONTH, *daily(ROOT_BRANCH_BYTES_MONTH, held(0.4))]
    result = estimate_of(PLAN_FIT, world(plan="launch"), meters(rows))
    # 730 x 0.106 = 77.38; 0.4 GB-month x 730/744 x 0.35 = 0.13737 -> 0.14; 77.52
    assert (result.monthly_usd, result.kind) == (77.52, "measured")


def test_a_legacy_organization_saves_its_bill_minus_the_same_usage_on_launch() -> None:
    org = organization("launch", managed_by="vercel")  # marketplace: legacy Launch
    result = estimate_of(PLAN_FIT, world(org=org), meters(A_CU_ALL_MONTH))
    # legacy: $19 + (730 - 300) x 0.16 = 19 + 68.80 = 87.80; Launch: 77.38; saves 10.42
    assert (result.monthly_usd, result.kind) == (10.42, "measured")
    assert "the switch is one-way" in result.method


def test_plan_fit_without_meters_claims_nothing() -> None:
    result = estimate_of(PLAN_FIT, world(plan="scale"), None)
    assert result.monthly_usd == 0.0
    assert "no consumption meters read" in result.method


def test_a_missing_spending_notification_saves_risk_not_money() -> None:
    result = estimate_of(SPENDING, world(plan="scale"), None)
    assert (result.monthly_usd, result.kind) == (0.0, "risk")
    assert "A spending notification" in result.method


def test_a_legacy_organization_without_meters_is_compared_on_its_projects_counters() -> None:
    """Neon refuses the consumption API on legacy plans: before, plan fit was always $0."""
    org = organization("launch", managed_by="vercel")
    counters = {
        "consumption_period_start": (NOW - timedelta(days=15)).isoformat(),
        "compute_time_seconds": 360 * 3600,  # 1 CU for all 360 h of the period so far
        "synthetic_storage_size": 20 * GB,
    }
    result = estimate_of(PLAN_FIT, world(org=org, project_extra=counters), None)
    # 360 CU-h in 360 h -> 730 CU-h a month; legacy 19 + 430 x 0.16 (68.80) + (20 - 10) x
    # 1.75 (17.50) = 105.30; Launch 730 x 0.106 = 77.38 + 20 x 730/744 x 0.35 = 6.868 -> 6.87
    # = 84.25; saves 21.05
    assert (result.monthly_usd, result.kind) == (21.05, "estimated")
    assert "precision C" in result.method
