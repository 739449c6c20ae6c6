"""A sweep makes the fewest requests the policies allow: project details only where needed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from governor.model.snapshot import Snapshot
from governor.neon.models import Project
from governor.pipeline.detail import DetailNeed
from governor.policy import Policy, load_policies, shipped_policies_path
from governor.simulator import SimulatorOptions, World
from governor.sweep import sweep
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import fast_client
from tests.neon.world_facts import facts_of

Serve = Callable[..., ServedSimulator]
PERSONAL_KEY = "sim-personal-key"
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
DETAIL_ROUTE = "GET /projects/{project_id}"


def world() -> World:
    return World.generate(seed=4, orgs=2, projects=40, branches=400, now=WORLD_NOW)


def policy(data: dict[str, Any]) -> Policy:
    return Policy.model_validate({"name": "p", "mode": "report", **data})


def detail_reads(served: ServedSimulator) -> set[str]:
    return {
        record.path.rsplit("/", 1)[-1]
        for record in served.request_log
        if record.route == DETAIL_ROUTE
    }


@pytest.mark.anyio
async def test_without_policies_no_project_detail_is_read_and_requests_are_the_minimum(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    facts = facts_of(simulator.world.to_dict())

    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(client)

    assert snapshot.complete
    assert detail_reads(simulator) == set()
    # org list, personal keys; per org its keys and one project page; two lists a project
    expected = 2 + 2 * len(facts.organizations) + 2 * len(facts.projects)
    assert snapshot.requests == snapshot.minimum_requests == expected
    assert snapshot.detailed_project_ids == set()


def _floor_can_drop(endpoint: dict[str, Any]) -> bool:
    """Neon's rules restated: a lower minimum is valid with the maximum kept (8 CU range,
    min >= max/8 above 10 CU, autoscaling up to 16 CU)."""
    low, high = endpoint["autoscaling_limit_min_cu"], endpoint["autoscaling_limit_max_cu"]
    if high > 16:
        return False
    bound = max(0.25, high - 8, high / 8 if high > 10 else 0)
    lowest = min(size for size in (0.25, 0.5, *range(1, 17)) if size >= bound)
    return lowest < min(low, high)


@pytest.mark.anyio
async def test_the_shipped_policies_read_details_only_for_computes_a_resize_would_estimate(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    facts = facts_of(simulator.world.to_dict())
    need = DetailNeed.of(load_policies([shipped_policies_path()]))
    active = {
        branch["id"]
        for branch in facts.branches
        if isinstance(branch.get("active_time_seconds"), int)
    }
    wanted = {
        endpoint["project_id"]
        for endpoint in facts.endpoints
        if endpoint["autoscaling_limit_min_cu"] >= 8
        and _floor_can_drop(endpoint)
        and endpoint.get("suspend_timeout_seconds") != -1
        and endpoint["branch_id"] in active
    }

    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(
            client, wants_detail=need.predicate(), wants_extra=need.extras(), now=WORLD_NOW
        )

    assert snapshot.complete
    assert 0 < len(wanted) < len(facts.projects)
    assert detail_reads(simulator) == wanted == snapshot.detailed_project_ids
    assert snapshot.requests == snapshot.minimum_requests
    by_id = {project.id: project for project in snapshot.projects}
    for project_id in wanted:
        assert "consumption_period_start" in by_id[project_id].raw
    assert need.served_by(snapshot)


@pytest.mark.anyio
async def test_a_project_policy_on_a_detail_field_reads_only_projects_it_can_select(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    facts = facts_of(simulator.world.to_dict())
    region = facts.projects[0]["region_id"]
    heavy = policy(
        {
            "resource": "project",
            "filters": [{"region_id": region}, {"written_data_bytes": {"gt": 0}}],
        }
    )
    need = DetailNeed.of([heavy])
    assert [rule.fields for rule in need.rules] == [("written_data_bytes",)]

    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(client, wants_detail=need.predicate(), now=WORLD_NOW)

    in_region = {project["id"] for project in facts.projects if project["region_id"] == region}
    assert detail_reads(simulator) == in_region == snapshot.detailed_project_ids
    assert len(in_region) < len(facts.projects)
    assert snapshot.requests == snapshot.minimum_requests


def test_a_snapshot_without_the_details_a_policy_needs_does_not_serve_it() -> None:
    taken = WORLD_NOW - timedelta(minutes=1)
    listed = Project.from_api({"id": "p-1", "name": "one", "region_id": "aws-us-east-2"})
    snapshot = Snapshot(taken_at=taken, projects=[listed])
    on_detail = DetailNeed.of(
        [policy({"resource": "project", "filters": [{"written_data_bytes": {"gt": 0}}]})]
    )
    elsewhere = DetailNeed.of(
        [
            policy(
                {
                    "resource": "project",
                    "filters": [{"region_id": "eu"}, {"written_data_bytes": {"gt": 0}}],
                }
            )
        ]
    )

    assert DetailNeed().served_by(snapshot)
    assert not on_detail.served_by(snapshot)
    assert elsewhere.served_by(snapshot)  # it cannot select p-1 whatever the detail says
    snapshot.detailed_project_ids = {"p-1"}
    assert on_detail.served_by(snapshot)
