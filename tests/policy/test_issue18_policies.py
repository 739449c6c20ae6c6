"""Issue 18's shipped policies select exactly the issue's defaults, boundaries included.

Each world is built by hand around the thresholds (95% of 168 hours, more than half at the
floor, 14 days, 7 days, 86400 s, 30 days, 60 days, at least 4 branches in 30 days, 9 and
24 child branches) and the expected set is written out, not computed by the engine.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from governor.model.findings import Finding
from governor.model.snapshot import Snapshot
from governor.policy import Policy, evaluate, load_policies, shipped_policies_path
from governor.policy.resources import SnapshotIndex
from governor.savings.usage import Usage
from tests.policy.builders import (
    DAY,
    NOW,
    branch,
    endpoint,
    hourly_usage,
    organization,
    project,
    project_snapshot,
    snapshot,
    stamp,
)

SECOND = timedelta(seconds=1)


@pytest.fixture(scope="module")
def shipped() -> dict[str, Policy]:
    return {policy.name: policy for policy in load_policies([shipped_policies_path()])}


def run(policy: Policy, world: Snapshot, usage: Usage | None = None) -> list[Finding]:
    return evaluate([policy], SnapshotIndex(world, usage), now=NOW)


def selected(policy: Policy, world: Snapshot, usage: Usage | None = None) -> set[str]:
    return {finding.resource_id for finding in run(policy, world, usage)}


def test_every_issue_18_policy_ships_in_report_mode(shipped: dict[str, Policy]) -> None:
    assert {name for name, policy in shipped.items() if policy.mode != "report"} == set()


# -- computes kept awake ---------------------------------------------------------------


def kept_awake_world() -> tuple[Snapshot, Usage]:
    """Branch b-<case> with compute e-<case>; the meters say how each branch was active."""
    cases: dict[str, tuple[int, int]] = {
        "awake": (160, 81),  # 95.2% active, 50.6% of those at the floor: selected
        "159": (159, 150),  # 94.6% active: not
        "half": (160, 80),  # exactly half at the floor: not
        "busy": (168, 20),  # always on, mostly above the floor: real traffic
        "never": (168, 168),  # the branch has a compute that never suspends
        "fixed": (168, 168),  # a fixed 20 CU compute never scales to zero
        "replicated": (168, 168),  # in the project with logical replication
    }
    branches, endpoints = [], []
    for case in cases:
        project_id = "p2" if case == "replicated" else "p1"
        branches.append(branch(f"b-{case}", project_id, parent_id="b-root"))
        fields: dict[str, Any] = {"suspend_timeout_seconds": 300}
        if case == "fixed":
            fields.update(autoscaling_limit_min_cu=20, autoscaling_limit_max_cu=20)
        endpoints.append(endpoint(f"e-{case}", f"b-{case}", project_id, **fields))
    endpoints.append(endpoint("e-awake-2", "b-awake", autoscaling_limit_min_cu=0.25))
    endpoints.append(endpoint("e-never-2", "b-never", suspend_timeout_seconds=-1))
    branches.append(branch("b-unread", "p1", parent_id="b-root"))
    endpoints.append(endpoint("e-unread", "b-unread"))  # no meters read for it
    world = snapshot(
        projects=[
            project("p1"),
            project("p2", settings={"enable_logical_replication": True}),
        ],
        branches=[branch("b-root", "p1", default=True), *branches],
        endpoints=endpoints,
    )
    floors = {"b-awake": 0.5, "b-never": 0.5, "b-fixed": 20.0}
    usage = hourly_usage(
        {f"b-{case}": (*hours, floors.get(f"b-{case}", 0.25)) for case, hours in cases.items()}
    )
    return world, usage


def test_computes_kept_awake_are_every_compute_of_a_branch_active_95_percent_mostly_at_floor(
    shipped: dict[str, Policy],
) -> None:
    world, usage = kept_awake_world()
    assert selected(shipped["computes-kept-awake"], world, usage) == {"e-awake", "e-awake-2"}


def test_kept_awake_computes_with_logical_replication_are_selected_at_high_severity(
    shipped: dict[str, Policy],
) -> None:
    world, usage = kept_awake_world()
    findings = run(shipped["computes-kept-awake-logical-replication"], world, usage)
    assert [(f.resource_id, f.severity) for f in findings] == [("e-replicated", "high")]
    assert "logical replication on" in findings[0].summary


def test_a_kept_awake_summary_names_the_hours_and_the_likely_causes(
    shipped: dict[str, Policy],
) -> None:
    world, usage = kept_awake_world()
    finding = run(shipped["computes-kept-awake"], world, usage)[0]
    assert "active 160 of the last 168 hours (95%)" in finding.summary
    for cause in ("pollers", "health checks", "cron", "ORM keep-alive", "idle-in-transaction"):
        assert cause in finding.summary
    assert finding.evidence["floor_share_7d"] == pytest.approx(81 / 160)


def test_without_the_store_s_meters_no_compute_is_called_kept_awake(
    shipped: dict[str, Policy],
) -> None:
    world, _usage = kept_awake_world()
    assert selected(shipped["computes-kept-awake"], world) == set()
    view = SnapshotIndex(world).view("endpoint", "e-awake")
    assert view is not None
    assert view.values["active_share_7d"] is None


# -- endpoints -------------------------------------------------------------------------


def test_long_suspend_timeouts_are_those_above_300_seconds_with_activations_as_evidence(
    shipped: dict[str, Policy],
) -> None:
    timeouts = {"e-301": 301, "e-300": 300, "e-0": 0, "e-never": -1, "e-day": 86400}
    world = snapshot(
        branches=[branch("b1", default=True)],
        endpoints=[endpoint(name, "b1", suspend_timeout_seconds=s) for name, s in timeouts.items()],
        activations={"e-301": 12},
    )
    findings = {f.resource_id: f for f in run(shipped["long-suspend-timeouts"], world)}
    assert set(findings) == {"e-301", "e-day"}
    assert findings["e-301"].evidence == {"suspend_timeout_seconds": 301, "activations_30d": 12}
    assert "12 activations in the last 30 days" in findings["e-301"].summary
    assert findings["e-day"].evidence["activations_30d"] is None


def test_idle_read_replicas_never_suspend_or_were_last_active_more_than_14_days_ago(
    shipped: dict[str, Policy],
) -> None:
    replicas = {
        "r-never": {"suspend_timeout_seconds": -1, "last_active": stamp(DAY)},
        "r-idle": {"last_active": stamp(14 * DAY + SECOND)},
        "r-14d": {"last_active": stamp(14 * DAY)},
        "r-recent": {"last_active": stamp(2 * DAY)},
        "r-unknown": {},
    }
    endpoints = [
        endpoint(name, "b1", type="read_only", **fields) for name, fields in replicas.items()
    ]
    endpoints.append(endpoint("w-never", "b1", suspend_timeout_seconds=-1))
    world = snapshot(branches=[branch("b1", default=True)], endpoints=endpoints)
    assert selected(shipped["idle-read-replicas"], world) == {"r-never", "r-idle"}


def test_a_running_read_replica_is_not_an_idle_one_whatever_its_last_activity(
    shipped: dict[str, Policy],
) -> None:
    """Issue 18: replicas "idle with last activity older than 14 days"; one running for
    weeks (started_at its only activity stamp) serves readers and is not deleted."""
    running = endpoint(
        "r-running", "b1", type="read_only", current_state="active", started_at=stamp(20 * DAY)
    )
    idle = endpoint("r-idle", "b1", type="read_only", last_active=stamp(20 * DAY))
    world = snapshot(branches=[branch("b1", default=True)], endpoints=[running, idle])
    assert selected(shipped["idle-read-replicas"], world) == {"r-idle"}


# -- branches --------------------------------------------------------------------------


def test_archived_branches_archived_more_than_14_days_ago_that_neon_can_delete(
    shipped: dict[str, Policy],
) -> None:
    archived = {"current_state": "archived", "parent_id": "root"}
    old = {**archived, "state_changed_at": stamp(14 * DAY + SECOND)}
    world = snapshot(
        branches=[
            branch("root", default=True),
            branch("a-old", **old),
            branch("a-14d", **{**archived, "state_changed_at": stamp(14 * DAY)}),
            branch("a-protected", **old, protected=True),
            branch("a-parent", **old),
            branch("a-child", parent_id="a-parent"),
            branch("a-root", **{**old, "parent_id": ...}),  # a root that is not default
            branch("ready-old", parent_id="root", state_changed_at=stamp(90 * DAY)),
        ]
    )
    assert selected(shipped["archived-branches"], world) == {"a-old"}


def test_backup_branches_named_old_at_a_time_more_than_7_days_ago_with_a_parent(
    shipped: dict[str, Policy],
) -> None:
    def named(age: timedelta) -> str:
        return f"main_old_{(NOW - age).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z"

    old = {"parent_id": "root", "name": named(7 * DAY + SECOND)}
    world = snapshot(
        branches=[
            branch("root", default=True),
            branch("k-old", **old),
            branch("k-7d", parent_id="root", name=named(7 * DAY)),
            branch("k-root", name=named(30 * DAY)),  # a root that is not default
            branch("k-protected", **old, protected=True),
            branch("k-default", **old, default=True),
            branch("k-parent", **old),
            branch("k-child", parent_id="k-parent"),
            branch("k-not-a-time", parent_id="root", name="main_old_yesterday"),
        ]
    )
    assert selected(shipped["backup-branches"], world) == {"k-old"}


def test_backup_schedules_with_an_item_without_retention_select_their_branch(
    shipped: dict[str, Policy],
) -> None:
    daily = {"frequency": "daily", "hour": 3}
    world = snapshot(
        branches=[branch(name) for name in ("s-forever", "s-kept", "s-none", "s-unread")],
        backup_schedules={
            "s-forever": {"schedule": [{**daily, "retention_seconds": 86400}, daily]},
            "s-kept": {"schedule": [{**daily, "retention_seconds": 604800}]},
            "s-none": {"schedule": []},
        },
    )
    assert selected(shipped["backup-schedules-without-retention"], world) == {"s-forever"}


# -- projects --------------------------------------------------------------------------


def children(project_id: str, count: int, **fields: Any) -> list[Any]:
    root = branch(f"{project_id}-root", project_id, default=True)
    return [root] + [
        branch(f"{project_id}-c{n}", project_id, parent_id=root.id, **fields) for n in range(count)
    ]


def test_projects_over_the_allowance_have_more_than_9_children_on_launch_24_on_scale(
    shipped: dict[str, Policy],
) -> None:
    counts = {"l-10": ("org-l", 10), "l-9": ("org-l", 9), "s-25": ("org-s", 25),
              "s-24": ("org-s", 24), "f-30": ("org-f", 30)}  # fmt: skip
    world = snapshot(
        organizations=[
            organization("org-l", plan="launch"),
            organization("org-s", plan="scale"),
            organization("org-f", plan="free"),
        ],
        projects=[project(name, org_id=org) for name, (org, _n) in counts.items()],
        branches=[b for name, (_org, n) in counts.items() for b in children(name, n)],
    )
    findings = {f.resource_id: f for f in run(shipped["branches-over-allowance"], world)}
    assert set(findings) == {"l-10", "s-25"}
    assert "1 child branches beyond the 9 its plan includes" in findings["l-10"].summary


def test_restore_window_selects_projects_without_a_protected_branch_above_one_day(
    shipped: dict[str, Policy],
) -> None:
    retention = {"p-day-plus": 86401, "p-day": 86400, "p-week-protected": 604800, "p-week": 604800}
    world = snapshot(
        projects=[project(name, history_retention_seconds=s) for name, s in retention.items()],
        branches=[
            branch(f"{name}-root", name, default=True, protected=name.endswith("protected"))
            for name in retention
        ],
    )
    findings = run(shipped["restore-window"], world)
    assert {f.resource_id for f in findings} == {"p-day-plus", "p-week"}
    assert findings[0].action.as_json() == {"type": "set_retention", "seconds": 86400}


def test_idle_projects_were_created_and_last_active_more_than_60_days_ago_or_never(
    shipped: dict[str, Policy],
) -> None:
    created, old = stamp(60 * DAY + SECOND), stamp(60 * DAY + SECOND)
    world = snapshot(
        projects=[
            project("never", created_at=created),
            project("idle", created_at=created, compute_last_active_at=old),
            project("60d", created_at=created, compute_last_active_at=stamp(60 * DAY)),
            project("young", created_at=stamp(60 * DAY)),
            project("busy", created_at=stamp(400 * DAY), compute_last_active_at=stamp(DAY)),
        ]
    )
    assert selected(shipped["idle-projects"], world) == {"never", "idle"}


def test_expensive_defaults_on_projects_that_created_4_branches_in_30_days(
    shipped: dict[str, Policy],
) -> None:
    never = {"suspend_timeout_seconds": -1}
    cases = {
        "never-4": (never, 4),
        "never-3": (never, 3),
        "floor1-4": ({"autoscaling_limit_min_cu": 1}, 4),
        "floor05-4": ({"autoscaling_limit_min_cu": 0.5, "suspend_timeout_seconds": 300}, 4),
        "unset-9": (None, 9),
    }
    projects, branches = [], []
    for name, (defaults, recent) in cases.items():
        fields = {} if defaults is None else {"default_endpoint_settings": defaults}
        projects.append(project(name, **fields))
        branches.extend(children(name, recent, created_at=stamp(30 * DAY)))
        branches.append(branch(f"{name}-old", name, created_at=stamp(30 * DAY + SECOND)))
    world = snapshot(projects=projects, branches=branches)
    findings = run(shipped["expensive-project-defaults"], world)
    assert {f.resource_id for f in findings} == {"never-4", "floor1-4"}
    assert findings[0].action.as_json()["suspend_timeout_seconds"] == 300


# -- snapshots -------------------------------------------------------------------------


def test_old_manual_snapshots_without_expiry_created_more_than_30_days_ago(
    shipped: dict[str, Policy],
) -> None:
    old = stamp(30 * DAY + SECOND)
    world = snapshot(
        snapshots=[
            project_snapshot("s-old", created_at=old),
            project_snapshot("s-30d", created_at=stamp(30 * DAY)),
            project_snapshot("s-expires", created_at=old, expires_at=stamp(-DAY)),
            project_snapshot("s-scheduled", created_at=old, manual=False),
        ]
    )
    findings = run(shipped["old-manual-snapshots"], world)
    assert [(f.resource_id, f.project_id) for f in findings] == [("s-old", "p1")]


# -- organizations ---------------------------------------------------------------------


def test_plan_fit_selects_scale_without_scale_features_launch_inside_free_and_legacy(
    shipped: dict[str, Policy],
) -> None:
    orgs = {
        "scale-plain": {"plan": "scale"},
        "scale-long-timeout": {"plan": "scale"},
        "launch-tiny": {"plan": "launch"},
        "launch-4cu": {"plan": "launch"},
        "legacy": {"plan": "scale", "managed_by": "vercel"},
        "free": {"plan": "free"},
    }
    projects, branches, endpoints = [], [], []
    for org in orgs:
        projects.append(project(f"{org}-p", org_id=org))
        branches.append(branch(f"{org}-root", f"{org}-p", default=True, logical_size=10**8))
        fields: dict[str, Any] = {}
        if org == "scale-long-timeout":
            fields["suspend_timeout_seconds"] = 3600
        if org == "launch-4cu":
            fields["autoscaling_limit_max_cu"] = 4
        endpoints.append(endpoint(f"{org}-e", f"{org}-root", f"{org}-p", **fields))
    world = snapshot(
        organizations=[organization(org, **fields) for org, fields in orgs.items()],
        projects=projects,
        branches=branches,
        endpoints=endpoints,
    )
    assert selected(shipped["plan-fit"], world) == {"scale-plain", "launch-tiny", "legacy"}


def test_no_spending_notification_on_usage_based_launch_and_scale_organizations(
    shipped: dict[str, Policy],
) -> None:
    plans = {"l-none": "launch", "s-none": "scale", "l-set": "launch", "l-unread": "launch",
             "f-none": "free"}  # fmt: skip
    world = snapshot(
        organizations=[organization(org, plan=plan) for org, plan in plans.items()],
        projects=[],
        spending_limits={"l-none": None, "s-none": None, "l-set": 5000, "f-none": None},
    )
    findings = run(shipped["no-spending-notification"], world)
    assert {f.resource_id for f in findings} == {"l-none", "s-none"}
    assert "no spending notification set" in findings[0].summary
