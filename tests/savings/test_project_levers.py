"""Restore window, whole-project delete, branches over the allowance, project defaults:
each figure worked out by hand (GB = 10^9 bytes; 730/744 = 0.981183 of a GB-month)."""

from __future__ import annotations

from datetime import timedelta

from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    EXTRA_BRANCHES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    ROOT_BRANCH_BYTES_MONTH,
    SNAPSHOT_STORAGE_BYTES_MONTH,
)
from governor.model.findings import CostPart
from governor.model.snapshot import IncompletePart
from governor.neon.models import Branch
from governor.savings.totals import count_once
from tests.savings.levers_world import (
    GB,
    NOW,
    branch,
    compute,
    daily,
    estimate_of,
    finding,
    held,
    hourly,
    meters,
    organization,
    root,
    snapshot_of,
    world,
)

SHORTER_WINDOW = finding("project", "pr-1", {"type": "set_retention", "seconds": 86400})
DELETE_PROJECT = finding("project", "pr-1", {"type": "delete_project"})
OVER_ALLOWANCE = finding(
    "project", "pr-1", {"type": "none"}, {"child_branch_count": 12, "included_child_branches": 9}
)
WEEK = {"history_retention_seconds": 604800}


def test_a_shorter_restore_window_saves_its_share_of_the_measured_instant_restore() -> None:
    usage = meters(daily(INSTANT_RESTORE_BYTES_MONTH, held(10)))
    result = estimate_of(SHORTER_WINDOW, world(project_extra=WEEK), usage)
    # 10 GB-month x (1 - 86400/604800 = 6/7) x 730/744 x $0.20 = 1.68203 -> 1.68
    assert (result.monthly_usd, result.kind) == (1.68, "measured")
    assert result.parts == (CostPart("instant_restore:pr-1", 1.68),)
    assert "(1 - 86400/604800)" in result.method
    assert "approximate: assumes a steady write rate" in result.method


def test_a_restore_window_without_measured_instant_restore_claims_nothing() -> None:
    result = estimate_of(SHORTER_WINDOW, world(project_extra=WEEK), None)
    assert result.monthly_usd == 0.0
    assert "instant-restore storage not measured" in result.method


def test_a_restore_window_that_is_not_shorter_saves_nothing() -> None:
    usage = meters(daily(INSTANT_RESTORE_BYTES_MONTH, held(10)))
    result = estimate_of(
        SHORTER_WINDOW, world(project_extra={"history_retention_seconds": 3600}), usage
    )
    assert result.monthly_usd == 0.0
    assert "not longer" in result.method


def test_a_legacy_plan_includes_the_restore_window_so_shortening_it_counts_zero() -> None:
    usage = meters(daily(INSTANT_RESTORE_BYTES_MONTH, held(10)))
    org = organization("launch", managed_by="vercel")
    result = estimate_of(SHORTER_WINDOW, world(org=org, project_extra=WEEK), usage)
    assert result.monthly_usd == 0.0
    assert "which the legacy plan includes (no published charge): $0" in result.method


def test_deleting_a_project_prices_every_measured_storage_line_keyed_once() -> None:
    rows = [
        *daily(ROOT_BRANCH_BYTES_MONTH, held(5)),
        *daily(CHILD_BRANCH_BYTES_MONTH, held(3)),
        *daily(INSTANT_RESTORE_BYTES_MONTH, held(2)),
        *daily(SNAPSHOT_STORAGE_BYTES_MONTH, held(4)),
    ]
    snapshot = world(
        branches=[root(), branch("br-2", logical_size=10 * GB)],
        snapshots=[snapshot_of("snap-1", days_old=40, manual=True, full_size=GB)],
    )
    result = estimate_of(DELETE_PROJECT, snapshot, meters(rows))
    # root 5 x 0.981183 x 0.35 = 1.71707 -> 1.72
    # child 3 GB-month measured, all of it br-2's (its 10 GB bound scaled to 3): 1.03024 -> 1.03
    # instant restore 2 x 0.981183 x 0.20 = 0.39247 -> 0.39
    # snapshots 4: snap-1's 1 GB = 0.08831 -> 0.09, the other 3 = 0.26492 -> 0.26
    # total 1.72 + 1.03 + 0.39 + 0.09 + 0.26 = 3.49
    assert (result.monthly_usd, result.kind) == (3.49, "measured")
    assert result.parts == (
        CostPart("project:pr-1:root_storage", 1.72),
        CostPart("storage:br-2", 1.03),
        CostPart("instant_restore:pr-1", 0.39),
        CostPart("snapshot:snap-1", 0.09),
        CostPart("project:pr-1:snapshots", 0.26),
    )
    assert "recoverable for 7 days" in result.method


def test_a_project_delete_and_a_shorter_window_count_the_instant_restore_once() -> None:
    rows = [*daily(ROOT_BRANCH_BYTES_MONTH, held(5)), *daily(INSTANT_RESTORE_BYTES_MONTH, held(2))]
    snapshot = world(project_extra=WEEK)
    usage = meters(rows)
    delete = estimate_of(DELETE_PROJECT, snapshot, usage)
    window = estimate_of(SHORTER_WINDOW, snapshot, usage)
    # delete: root 1.72 + restore 0.39 = 2.11; window: 2 x 6/7 x 0.981183 x 0.20 = 0.33641 -> 0.34
    assert (delete.monthly_usd, window.monthly_usd) == (2.11, 0.34)
    totals = count_once([delete, window])
    assert totals.monthly_usd == 2.11  # not 2.45: the window's saving is part of the delete's
    assert totals.shared == {"instant_restore:pr-1": 2}


def test_deleting_a_project_without_meters_prices_its_object_fields() -> None:
    snapshot = world(
        branches=[root(logical_size=5 * GB), branch("br-2", logical_size=10 * GB)],
        endpoints=[compute(suspend=-1)],
        snapshots=[snapshot_of("snap-1", days_old=40, manual=True, full_size=GB)],
    )
    result = estimate_of(DELETE_PROJECT, snapshot, None)
    # root 5 GB: 1.72; br-2 10 GB (upper bound) x 0.981183 x 0.35 = 3.43414 -> 3.43;
    # snap-1 0.09; ep-1 never suspends: 0.25 CU x 730 h x 0.106 = 19.345 -> 19.35
    assert (result.monthly_usd, result.kind) == (24.59, "estimated")
    assert {part.key for part in result.parts} == {
        "project:pr-1:root_storage",
        "storage:br-2",
        "snapshot:snap-1",
        "compute_floor:ep-1",
    }
    assert "instant-restore storage not measured" in result.method


def test_a_project_delete_leaves_out_snapshots_whose_list_was_not_read() -> None:
    unread = IncompletePart("snapshots", "timed out", org_id="org-a", project_id="pr-1")
    snapshot = world(branches=[root(logical_size=5 * GB)], incomplete=[unread])
    result = estimate_of(DELETE_PROJECT, snapshot, None)
    assert result.monthly_usd == 1.72
    assert "snapshots unknown (snapshot list not read)" in result.method


def _children(count: int) -> list[Branch]:
    # c00 is the oldest child, c11 the newest
    return [
        branch(f"c{n:02}", created_at=(NOW - timedelta(days=100 - n)).isoformat())
        for n in range(count)
    ]


def test_branches_over_the_allowance_cost_the_fee_of_each_branch_over_it() -> None:
    snapshot = world(branches=[root(), *_children(12)])
    result = estimate_of(OVER_ALLOWANCE, snapshot, None)
    # 12 children, 9 allowed on Launch: 3 x 730/744 x $1.50 = 3 x 1.47177 -> 3 x 1.47 = 4.41
    assert (result.monthly_usd, result.kind) == (4.41, "estimated")
    # keyed on the oldest children, the ones a stale-branch delete picks first
    assert [part.key for part in result.parts] == [
        "branch_fee:c00",
        "branch_fee:c01",
        "branch_fee:c02",
    ]


def test_branches_over_the_allowance_are_measured_from_hourly_extra_branch_hours() -> None:
    snapshot = world(branches=[root(), *_children(12)])
    usage = meters(hourly(EXTRA_BRANCHES_MONTH, 12.0))
    result = estimate_of(OVER_ALLOWANCE, snapshot, usage)
    # (12 - 9) x 168 h = 504 branch-hours over; x 730/168 / 744 = 2.943548 branch-months,
    # 0.981183 each of 3 x $1.50 = 1.47177 -> 1.47, total 4.41
    assert (result.monthly_usd, result.kind) == (4.41, "measured")


def test_the_extra_branch_fee_is_counted_once_with_a_stale_branch_delete() -> None:
    snapshot = world(branches=[root(), *_children(12)])
    report = estimate_of(OVER_ALLOWANCE, snapshot, None)
    delete = estimate_of(finding("branch", "c00", {"type": "delete"}), snapshot, None)
    # the delete: no size, no compute; 13 branches > 10 included: 1.47 under branch_fee:c00
    assert delete.parts == (CostPart("branch_fee:c00", 1.47),)
    assert count_once([report, delete]).monthly_usd == 4.41  # not 5.88


def test_project_defaults_are_preventive_and_claim_no_dollars() -> None:
    snapshot = world(branches=[root(), *_children(2), branch("new", created_at=NOW.isoformat())])
    action = {"type": "set_project_defaults", "suspend_timeout_seconds": 300}
    result = estimate_of(finding("project", "pr-1", action), snapshot, None)
    assert result.monthly_usd == 0.0
    assert "preventive" in result.method
    assert "1 branch created in the last 30 days" in result.method
    assert "precision C" in result.method
