"""The shipped report-only policies' findings are priced by what they are about: the
estimate reads the fields each policy filters on (its evidence), so a renamed policy file
keeps its price. Figures as in the lever tests, worked out there by hand."""

from __future__ import annotations

import pytest

from governor.model.consumption import COMPUTE_UNIT_SECONDS
from governor.model.findings import Estimate
from governor.model.snapshot import Snapshot
from governor.policy import Policy, evaluate, load_policies, shipped_policies_path
from governor.policy.resources import SnapshotIndex
from governor.savings import estimate
from governor.savings.usage import Usage
from tests.savings.levers_world import (
    NOW,
    PRICES,
    branch,
    compute,
    daily,
    hourly,
    meters,
    root,
    world,
)


@pytest.fixture(scope="module")
def shipped() -> dict[str, Policy]:
    return {policy.name: policy for policy in load_policies([shipped_policies_path()])}


def priced(policy: Policy, snapshot: Snapshot, usage: Usage | None) -> dict[str, Estimate]:
    index = SnapshotIndex(snapshot, usage)
    found = evaluate([policy], index, now=NOW)
    return {item.resource_id: estimate(item, index, PRICES, usage) for item in found}


def test_a_kept_awake_finding_is_priced_at_its_measured_floor(
    shipped: dict[str, Policy],
) -> None:
    snapshot = world(
        endpoints=[compute(suspend=300)],
        project_extra={"settings": {"enable_logical_replication": False}},
    )
    usage = meters(hourly(COMPUTE_UNIT_SECONDS, 900.0, branch_id="br-root"))
    found = priced(shipped["computes-kept-awake"], snapshot, usage)
    # 0.25 CU x 730 floor hours x 0.106 = 19.345 -> 19.35
    assert {key: (e.monthly_usd, e.kind) for key, e in found.items()} == {
        "ep-1": (19.35, "measured")
    }


def test_a_branches_over_allowance_finding_is_priced_at_the_fee(
    shipped: dict[str, Policy],
) -> None:
    snapshot = world(branches=[root(), *(branch(f"c{n:02}") for n in range(12))])
    found = priced(shipped["branches-over-allowance"], snapshot, None)
    # 3 over the 9 Launch allows: 3 x 1.47 = 4.41
    assert {key: e.monthly_usd for key, e in found.items()} == {"pr-1": 4.41}


def test_a_plan_fit_finding_is_priced_at_the_measured_difference(
    shipped: dict[str, Policy],
) -> None:
    usage = meters(daily(COMPUTE_UNIT_SECONDS, 24 * 3600))
    found = priced(shipped["plan-fit"], world(plan="scale"), usage)
    # 730 CU-h x (0.222 - 0.106) = 84.68, no child branches
    assert {key: (e.monthly_usd, e.kind) for key, e in found.items()} == {
        "org-a": (84.68, "measured")
    }


def test_a_missing_spending_notification_finding_is_a_risk(shipped: dict[str, Policy]) -> None:
    snapshot = world(plan="scale", spending_limits={"org-a": None})
    found = priced(shipped["no-spending-notification"], snapshot, None)
    assert {key: (e.monthly_usd, e.kind) for key, e in found.items()} == {"org-a": (0.0, "risk")}
