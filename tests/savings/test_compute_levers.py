"""Shorter suspend timeouts, computes kept awake or disabled, read replicas: each figure
worked out by hand (Launch $0.106/CU-hour; a month is 730 h)."""

from __future__ import annotations

from governor.model.consumption import COMPUTE_UNIT_SECONDS
from governor.model.findings import CostPart
from tests.savings.levers_world import compute, estimate_of, finding, hourly, meters, world

SHORTER = finding("endpoint", "ep-1", {"type": "set_autosuspend", "seconds": 300})
KEPT_AWAKE = finding("endpoint", "ep-1", {"type": "none"}, {"active_share_7d": 1.0})
DISABLE = finding("endpoint", "ep-1", {"type": "disable_compute"})
DELETE = finding("endpoint", "ep-1", {"type": "delete_endpoint"})


def test_a_long_suspend_timeout_is_priced_from_its_activations() -> None:
    snapshot = world(endpoints=[compute(min_cu=0.5, suspend=3600)], activations={"ep-1": 60})
    result = estimate_of(SHORTER, snapshot)
    # 60 x (3600 - 300)/3600 h = 55 h in 30 days, x 730/720 = 55.76 -> 55.8 h;
    # 0.5 CU x 55.8 h x 0.106 = 2.9574 -> 2.96
    assert (result.monthly_usd, result.kind) == (2.96, "estimated")
    assert result.parts == (CostPart("compute_floor:ep-1", 2.96),)
    assert "an upper bound" in result.method


def test_a_long_suspend_timeout_without_activations_read_claims_nothing() -> None:
    result = estimate_of(SHORTER, world(endpoints=[compute(suspend=3600)]))
    assert result.monthly_usd == 0.0
    assert "activations (start_compute operations) were not read" in result.method


def test_a_compute_kept_awake_is_priced_from_its_measured_floor_hours() -> None:
    usage = meters(hourly(COMPUTE_UNIT_SECONDS, 900.0, branch_id="br-root"))
    result = estimate_of(KEPT_AWAKE, world(endpoints=[compute(suspend=300)]), usage)
    # 168 of 168 h at the floor (900 CU-s = 0.25 CU x 3600): 730 h; 0.25 x 730 x 0.106 = 19.345
    assert (result.monthly_usd, result.kind) == (19.35, "measured")
    assert result.parts == (CostPart("compute_floor:ep-1", 19.35),)


def test_disabling_a_compute_saves_its_measured_floor_hours() -> None:
    usage = meters(hourly(COMPUTE_UNIT_SECONDS, 900.0, hours=84, branch_id="br-root"))
    result = estimate_of(DISABLE, world(endpoints=[compute(suspend=300)]), usage)
    # 84 of 168 h: 365 h; 0.25 x 365 x 0.106 = 9.6725 -> 9.67
    assert (result.monthly_usd, result.kind) == (9.67, "measured")


def test_a_compute_kept_awake_without_meters_claims_nothing() -> None:
    result = estimate_of(KEPT_AWAKE, world(endpoints=[compute(suspend=300)]), None)
    assert result.monthly_usd == 0.0
    assert "not measured" in result.method


def test_deleting_a_never_suspending_read_replica_saves_its_floor_all_month() -> None:
    replica = compute(min_cu=1, suspend=-1, type="read_only")
    result = estimate_of(DELETE, world(endpoints=[replica]))
    # 1 CU x 730 h x 0.106 = 77.38
    assert (result.monthly_usd, result.kind) == (77.38, "estimated")
    assert "the read replica never scales to zero" in result.method


def test_deleting_a_suspending_read_replica_claims_about_nothing() -> None:
    replica = compute(suspend=300, type="read_only", last_active="2026-10-01T00:00:00Z")
    result = estimate_of(DELETE, world(endpoints=[replica]))
    assert result.monthly_usd == 0.0
    assert "the read replica suspends when idle" in result.method
