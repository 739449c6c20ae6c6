"""The issue 18 levers on Free (quota, never dollars) and legacy plans (allowance labels),
through issue 16's plan pricing; and odd API values never crash an estimate."""

from __future__ import annotations

from typing import Any

import pytest

from governor.model.consumption import COMPUTE_UNIT_SECONDS
from tests.savings.levers_world import (
    GB,
    compute,
    estimate_of,
    finding,
    hourly,
    meters,
    organization,
    snapshot_of,
    world,
)

KEPT_AWAKE = finding("endpoint", "ep-1", {"type": "none"}, {"active_share_7d": 1.0})
DELETE_SNAPSHOT = finding("snapshot", "snap-1", {"type": "delete_snapshot"})


def test_a_free_organizations_kept_awake_compute_saves_quota_not_dollars() -> None:
    usage = meters(hourly(COMPUTE_UNIT_SECONDS, 900.0, branch_id="br-root"))
    result = estimate_of(KEPT_AWAKE, world(plan="free", endpoints=[compute()]), usage)
    # 0.25 CU x 730 h = 182.5 CU-h of the 100 CU-h quota
    assert (result.monthly_usd, result.kind) == (0.0, "quota")
    assert "182.5 CU-h of the 100 CU-h per project per month" in result.method


def test_a_free_organizations_snapshot_is_free() -> None:
    taken = snapshot_of("snap-1", days_old=40, manual=True, full_size=GB)
    result = estimate_of(DELETE_SNAPSHOT, world(plan="free", snapshots=[taken]))
    assert (result.monthly_usd, result.kind) == (0.0, "quota")
    assert "the Free plan's one manual snapshot is free" in result.method


def test_a_legacy_organizations_kept_awake_compute_is_inside_its_allowance() -> None:
    usage = meters(hourly(COMPUTE_UNIT_SECONDS, 900.0, branch_id="br-root"))
    org = organization("launch", managed_by="vercel")
    result = estimate_of(KEPT_AWAKE, world(org=org, endpoints=[compute()]), usage)
    assert result.monthly_usd == 0.0
    # beyond the allowance: 0.25 x 730 x 0.16 = 29.20
    assert "beyond it, $29.20 at the $0.16 overage" in result.method


@pytest.mark.parametrize(
    ("resource", "action", "parts"),
    [
        ("snapshot", {"type": "delete_snapshot"}, {"snapshots": [
            snapshot_of("snap-1", days_old=1, manual=False, full_size=-5, diff_size=-1)]}),
        ("project", {"type": "set_retention", "seconds": 0}, {"project_extra": {
            "history_retention_seconds": -7}}),
        ("project", {"type": "delete_project"}, {"project_extra": {
            "synthetic_storage_size": -1}, "branches": []}),
        ("endpoint", {"type": "set_autosuspend", "seconds": 300}, {
            "endpoints": [compute(suspend=604800)], "activations": {"ep-1": -3}}),
        ("organization", {"type": "none"}, {"project_extra": {
            "compute_time_seconds": "many", "consumption_period_start": "soon"}}),
    ],
)  # fmt: skip
def test_odd_values_from_the_api_never_crash_a_lever_estimate(
    resource: Any, action: dict[str, Any], parts: dict[str, Any]
) -> None:
    resource_id = {"snapshot": "snap-1", "project": "pr-1", "endpoint": "ep-1"}.get(
        resource, "org-a"
    )
    evidence = {"plan": "scale"} if resource == "organization" else None
    org = organization("launch", managed_by="vercel") if resource == "organization" else None
    result = estimate_of(finding(resource, resource_id, action, evidence), world(org=org, **parts))
    assert result.monthly_usd == 0.0
    assert "out of range" not in result.method  # each says what it did not know, not a clamp
