"""The sweep reads snapshots, backup schedules, activations and spending limits only where
a loaded policy wants them, and a failed read leaves its part incomplete, never zero."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from governor.pipeline.detail import DetailNeed
from governor.policy import Policy
from governor.simulator import SimulatorOptions, World
from governor.sweep import sweep
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import fast_client

Serve = Callable[..., ServedSimulator]
PERSONAL_KEY = "sim-personal-key"
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
SNAPSHOTS = "GET /projects/{project_id}/snapshots"
SCHEDULE = "GET /projects/{project_id}/branches/{branch_id}/backup_schedule"
OPERATIONS = "GET /projects/{project_id}/operations"
SPENDING = "GET /organizations/{org_id}/billing/spending_limit"


def world() -> World:
    return World.generate(seed=4, orgs=4, projects=40, branches=400, now=WORLD_NOW)


def policy(data: dict[str, Any]) -> Policy:
    return Policy.model_validate({"name": f"p-{data['resource']}", "mode": "report", **data})


def routes(served: ServedSimulator, route: str) -> list[str]:
    return [record.path for record in served.request_log if record.route == route]


SNAPSHOT_POLICY = {"resource": "snapshot", "filters": [{"manual": True}]}
SCHEDULE_POLICY = {
    "resource": "branch",
    "filters": [{"default": True}, {"backup_schedule_without_retention": True}],
}
TIMEOUT_POLICY = {
    "resource": "endpoint",
    "filters": [{"suspend_timeout_seconds": {"gt": 300}}],
    "evidence": ["activations_30d"],
}
SPENDING_POLICY = {
    "resource": "organization",
    "filters": [{"spending_limit_read": True}, {"spending_limit_cents": {"absent": True}}],
}


@pytest.mark.anyio
async def test_without_a_policy_that_wants_them_no_lever_detail_is_read(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    need = DetailNeed.of([policy({"resource": "branch", "filters": [{"default": False}]})])
    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(client, wants_extra=need.extras(), now=WORLD_NOW)
    assert need.extras() is None
    for route in (SNAPSHOTS, SCHEDULE, OPERATIONS, SPENDING):
        assert routes(simulator, route) == []
    assert snapshot.snapshots == []
    assert snapshot.backup_schedules == snapshot.spending_limits == snapshot.activations == {}
    assert snapshot.requests == snapshot.minimum_requests


@pytest.mark.anyio
async def test_each_lever_detail_is_read_only_where_its_policy_can_select(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    data = simulator.world.to_dict()
    projects = [project for org in data["organizations"] for project in org["projects"]]
    paid = [org["id"] for org in data["organizations"] if org["plan"] in ("launch", "scale")]
    need = DetailNeed.of(
        [policy(p) for p in (SNAPSHOT_POLICY, SCHEDULE_POLICY, TIMEOUT_POLICY, SPENDING_POLICY)]
    )

    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(client, wants_extra=need.extras(), now=WORLD_NOW)

    assert snapshot.complete
    assert len(routes(simulator, SNAPSHOTS)) == len(projects)
    defaults = {b["id"] for p in projects for b in p["branches"] if b.get("default")}
    # only where a scheduled snapshot is kept for ever: what a schedule without retention costs
    keeping = {
        s["source_branch_id"]
        for p in projects
        for s in p.get("snapshots", [])
        if not s["manual"] and not s.get("expires_at")
    }
    read_schedules = {path.split("/")[-2] for path in routes(simulator, SCHEDULE)}
    assert 0 < len(read_schedules) < len(defaults)
    assert read_schedules == defaults & keeping  # not one non-default branch
    long_timeouts = {
        p["id"] for p in projects if any(e["suspend_timeout_seconds"] > 300 for e in p["endpoints"])
    }
    assert 0 < len(long_timeouts) < len(projects)
    operations_read = {path.split("/")[-2] for path in routes(simulator, OPERATIONS)}
    assert operations_read == long_timeouts
    assert sorted(path.split("/")[-3] for path in routes(simulator, SPENDING)) == sorted(paid)
    # what was read is on the snapshot, zeros included: a compute never started is counted
    world_snapshots = {s["id"] for p in projects for s in p.get("snapshots", [])}
    assert {s.id for s in snapshot.snapshots} == world_snapshots
    assert set(snapshot.backup_schedules) == defaults & keeping
    for project in projects:
        if project["id"] in long_timeouts:
            for endpoint in project["endpoints"]:
                assert endpoint["id"] in snapshot.activations
    assert set(snapshot.spending_limits) == set(paid)
    assert snapshot.requests == snapshot.minimum_requests
    assert need.served_by(snapshot)
    assert not DetailNeed.of([policy(SNAPSHOT_POLICY)]).served_by(await _plain_sweep(base_url))


async def _plain_sweep(base_url: str) -> Any:
    async with fast_client(base_url, PERSONAL_KEY) as client:
        return await sweep(client, now=WORLD_NOW)


@pytest.mark.anyio
async def test_a_failed_lever_read_leaves_its_part_incomplete_never_zero(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    live = simulator.world
    paid_org = next(
        str(org["id"]) for org in live.organizations if org["plan"] in ("launch", "scale")
    )
    state = next(s for s in live.projects.values() if s.org_id == paid_org)
    root = next(b for b in state.branches.values() if b.get("default"))
    # answers the client cannot use: a snapshot without a name, a schedule item that is
    # not an object, an operation without a status, a spending limit that is not a number
    state.snapshots["snap-broken-1"] = {"id": "snap-broken-1", "manual": True}
    state.backup_schedules[root["id"]] = {"schedule": [3]}
    endpoint_id = next(iter(state.endpoints))
    state.endpoints[endpoint_id]["suspend_timeout_seconds"] = 3600
    state.operations.append(
        {"id": "op-broken-1", "project_id": state.project_id, "action": "start_compute"}
    )
    live.org_billing[paid_org] = {"spending_limit_cents": "lots"}
    need = DetailNeed.of(
        [policy(p) for p in (SNAPSHOT_POLICY, SCHEDULE_POLICY, TIMEOUT_POLICY, SPENDING_POLICY)]
    )

    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(client, wants_extra=need.extras(), now=WORLD_NOW)

    failed = {(part.kind, part.org_id, part.project_id) for part in snapshot.incomplete}
    assert ("snapshots", paid_org, state.project_id) in failed
    assert ("backup_schedules", paid_org, state.project_id) in failed
    assert ("operations", paid_org, state.project_id) in failed
    assert ("spending_limit", paid_org, None) in failed
    # unknown, not "none": nothing recorded for them, and nothing about them is covered
    assert not any(s.project_id == state.project_id for s in snapshot.snapshots)
    assert root["id"] not in snapshot.backup_schedules
    assert endpoint_id not in snapshot.activations
    assert paid_org not in snapshot.spending_limits
    assert not snapshot.covers("snapshot", paid_org, state.project_id)
    assert not snapshot.covers("branch", paid_org, state.project_id)
    assert not snapshot.covers("endpoint", paid_org, state.project_id)
    assert not snapshot.covers("organization", paid_org, None)
    other = next(s for s in live.projects.values() if s.project_id != state.project_id)
    assert snapshot.covers("snapshot", other.org_id, other.project_id)
    assert snapshot.covers("branch", other.org_id, other.project_id)


def _snapshot(snapshot_id: str, **fields: Any) -> Any:
    from governor.neon.models import ProjectSnapshot

    return ProjectSnapshot.in_project("p-1", {"id": snapshot_id, "name": snapshot_id, **fields})


def test_a_schedule_is_read_only_for_a_branch_with_a_scheduled_snapshot_kept_for_ever() -> None:
    from governor.pipeline.detail import keeping_forever

    snapshots = [
        _snapshot("s1", manual=False, source_branch_id="br-a"),  # no expiry: kept for ever
        _snapshot("s2", manual=False, source_branch_id="br-b", expires_at="2026-12-20T00:00:00Z"),
        _snapshot("s3", manual=True, source_branch_id="br-c"),  # manual: not a schedule's
    ]
    assert keeping_forever(["br-a", "br-b", "br-c", "br-d"], snapshots) == ["br-a"]
    assert keeping_forever(["br-a", "br-b"], []) == []


def test_without_the_snapshot_list_or_a_source_every_selectable_schedule_is_read() -> None:
    from governor.pipeline.detail import keeping_forever

    assert keeping_forever(["br-a", "br-b"], None) == ["br-a", "br-b"]
    unnamed = [_snapshot("s1", manual=False)]
    assert keeping_forever(["br-a", "br-b"], unnamed) == ["br-a", "br-b"]
