"""The client against the Neon simulator over real loopback HTTP.

Tests about timing run the simulator in process and in virtual time instead
(``virtual_client``), so they cannot depend on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from governor.neon.client import NeonClient
from governor.neon.errors import NeonApiError
from governor.neon.models import Operation, Project
from governor.remediate.follow import follow_operations
from governor.simulator import Simulator, SimulatorOptions, World
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import RecordingTransport, fast_client, virtual_client
from tests.neon.virtual_time import VirtualClock
from tests.neon.windows import max_in_window, max_per_route_in_window
from tests.neon.world_facts import WorldFacts, by_id, facts_of
from tests.openapi import validate_request_body

Serve = Callable[..., ServedSimulator]
PERSONAL_KEY = "sim-personal-key"
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


def small_world() -> World:
    return World.generate(seed=1, orgs=2, projects=24, branches=200, now=WORLD_NOW)


def facts(simulator: Simulator) -> WorldFacts:
    return facts_of(simulator.world.to_dict())


def query_of(request: Any) -> dict[str, str]:
    return dict(request.url.params.items())


@pytest.mark.anyio
@pytest.mark.parametrize(("page_size", "requests"), [(5, 3), (4, 4), (400, 1)])
async def test_projects_page_by_cursor_which_is_on_every_page_the_last_included(
    served_simulator: Serve, page_size: int, requests: int
) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    world = facts(simulator)
    org_id = world.organizations[0]["id"]
    expected = world.projects_of(org_id)
    assert len(expected) == 12  # the page sizes above are chosen for this count
    transport = RecordingTransport()

    async with fast_client(base_url, PERSONAL_KEY, transport=transport) as client:
        pages = [page async for page in client.iter_project_pages(org_id, page_size=page_size)]

    listed = [project.id for page in pages for project in page.projects]
    assert sorted(listed) == sorted(project["id"] for project in expected)
    assert len(transport.sent) == requests
    assert all(query_of(request)["org_id"] == org_id for request in transport.sent)
    assert all(query_of(request)["limit"] == str(page_size) for request in transport.sent)
    assert "cursor" not in query_of(transport.sent[0])


@pytest.mark.anyio
async def test_a_page_short_only_by_unavailable_projects_does_not_end_the_walk(
    served_simulator: Serve,
) -> None:
    world = small_world()
    org_id = facts_of(world.to_dict()).organizations[0]["id"]
    simulator, base_url = served_simulator(world, NO_LIMITS)
    async with fast_client(base_url, PERSONAL_KEY) as client:
        first_page = await anext(client.iter_project_pages(org_id, page_size=5))
    hidden = first_page.projects[2].id
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        unavailable_project_ids=frozenset({hidden}),
    )
    _, base_url = served_simulator(World.from_dict(world.to_dict()), options)

    async with fast_client(base_url, PERSONAL_KEY) as client:
        pages = [page async for page in client.iter_project_pages(org_id, page_size=5)]

    listed = {project.id for page in pages for project in page.projects}
    unavailable = {project_id for page in pages for project_id in page.unavailable_project_ids}
    assert unavailable == {hidden}
    assert listed | unavailable == {p["id"] for p in facts(simulator).projects_of(org_id)}


@pytest.mark.anyio
@pytest.mark.parametrize("page_size", [3, 7, 1000])
async def test_branches_page_by_pagination_next(served_simulator: Serve, page_size: int) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    world = facts(simulator)
    project_id = max(world.project_org, key=lambda pid: len(world.branches_of(pid)))
    expected = world.branches_of(project_id)
    transport = RecordingTransport()

    async with fast_client(base_url, PERSONAL_KEY, transport=transport) as client:
        branches = [
            branch async for branch in client.iter_branches(project_id, page_size=page_size)
        ]

    assert len(branches) == len(expected)
    assert {branch.id: branch.raw for branch in branches} == by_id(expected)
    assert len(transport.sent) in (len(expected) // page_size + 1, -(-len(expected) // page_size))
    assert all(query_of(request)["limit"] == str(page_size) for request in transport.sent)
    assert all("cursor" in query_of(request) for request in transport.sent[1:])


@pytest.mark.anyio
async def test_the_default_page_sizes_are_explicit_and_within_the_spec(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    world = facts(simulator)
    org_id = world.organizations[0]["id"]
    transport = RecordingTransport()

    async with fast_client(base_url, PERSONAL_KEY, transport=transport) as client:
        projects = [project async for project in client.iter_projects(org_id)]
        [branch async for branch in client.iter_branches(projects[0].id)]
        [operation async for operation in client.iter_operations(projects[0].id)]
        with pytest.raises(NeonApiError) as caught:
            [project async for project in client.iter_projects(org_id, page_size=401)]

    limits = [query_of(request).get("limit") for request in transport.sent[:3]]
    assert limits == ["400", "10000", "1000"]  # each the spec's maximum
    assert caught.value.status == 400


@pytest.mark.anyio
async def test_org_id_rules_per_key_scope(served_simulator: Serve) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    world = facts(simulator)
    org_id = world.organizations[1]["id"]
    project_key_scope = simulator.world.keys["sim-project-key"]

    async with fast_client(base_url, PERSONAL_KEY) as client:
        with pytest.raises(NeonApiError, match="pass org_id") as caught:
            [project async for project in client.iter_projects()]
        personal = [project.id async for project in client.iter_projects(org_id)]
    async with fast_client(base_url, f"sim-org-key-{org_id}") as client:
        organization = [project.id async for project in client.iter_projects()]
    async with fast_client(base_url, "sim-project-key") as client:
        single = [project.id async for project in client.iter_projects()]

    assert caught.value.status == 400
    expected = sorted(project["id"] for project in world.projects_of(org_id))
    assert sorted(personal) == expected
    assert sorted(organization) == expected
    assert single == [project_key_scope["project_id"]]


@pytest.mark.anyio
async def test_the_simulator_never_sees_more_than_the_configured_rates(
    served_simulator: Serve,
) -> None:
    rpm, rps = 3000, 20
    simulator, base_url = served_simulator(
        small_world(), SimulatorOptions(requests_per_minute=rpm, requests_per_second_per_route=rps)
    )
    project_ids = list(facts(simulator).project_org)

    async with fast_client(
        base_url, PERSONAL_KEY, requests_per_minute=rpm, requests_per_second_per_route=rps
    ) as client:
        reads = [client.get_project(project_id) for project_id in project_ids]
        reads += [client.list_endpoints(project_id) for project_id in project_ids]
        reads += [client.get_project(project_id) for project_id in project_ids[:12]]
        await asyncio.gather(*reads)

    log = simulator.request_log
    assert len(log) == 60
    assert [record.status for record in log if record.status != 200] == []
    assert max_per_route_in_window([(record.route, record.at) for record in log], 1.0) <= rps
    assert max_in_window([record.at for record in log], 60.0) <= rpm


@pytest.mark.anyio
async def test_a_client_faster_than_the_server_recovers_from_429s() -> None:
    # In process and in virtual time: no time passes between requests unless the client
    # sleeps, so its burst outruns the route limit by construction, on any machine.
    clock = VirtualClock()
    options = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=15)
    simulator = Simulator(small_world(), options, clock=clock, now=lambda: WORLD_NOW)
    project_ids = list(facts(simulator).project_org)

    async with virtual_client(
        simulator, clock, max_attempts=8, backoff_base_seconds=0.05, backoff_cap_seconds=1.0
    ) as client:

        async def read_all() -> list[Project]:
            return await asyncio.gather(*(client.get_project(pid) for pid in project_ids))

        projects = await clock.run(read_all())

    assert len(project_ids) > 15
    assert sorted(project.id for project in projects) == sorted(project_ids)
    rejected = [record for record in simulator.request_log if record.status == 429]
    assert rejected
    assert client.rate_limited_responses == len(rejected)
    assert client.pacer.rate_fraction < 1.0


@pytest.mark.anyio
async def test_reads_survive_500_503_and_524_faults(served_simulator: Serve) -> None:
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        fail_500=0.1,
        fail_503=0.1,
        fail_524=0.1,
        seed=3,
    )
    simulator, base_url = served_simulator(small_world(), options)
    world = facts(simulator)
    org_id = world.organizations[0]["id"]

    async with fast_client(base_url, PERSONAL_KEY, max_attempts=10) as client:
        projects = [project async for project in client.iter_projects(org_id, page_size=5)]
        full = await asyncio.gather(*(client.get_project(project.id) for project in projects))
        branches = await asyncio.gather(
            *(
                client.get_branch(branch["project_id"], branch["id"])
                for branch in world.branches[:20]
            )
        )

    assert {project.id: project.raw for project in full} == by_id(world.projects_of(org_id))
    assert [branch.raw for branch in branches] == world.branches[:20]
    statuses = {record.status for record in simulator.request_log}
    assert {500, 503, 524} <= statuses


@pytest.mark.anyio
async def test_a_mutation_on_a_busy_project_waits_out_the_423_then_its_operations(
    served_simulator: Serve,
) -> None:
    options = NO_LIMITS.__class__(
        requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(0.3, 0.3)
    )
    simulator, base_url = served_simulator(small_world(), options)
    world = facts(simulator)
    project_id, endpoints = next(
        (pid, world.endpoints_of(pid))
        for pid in world.project_org
        if len(world.endpoints_of(pid)) >= 2
    )
    first, second = endpoints[0]["id"], endpoints[1]["id"]

    async with fast_client(
        base_url, PERSONAL_KEY, backoff_base_seconds=0.1, backoff_cap_seconds=1.0, max_attempts=10
    ) as client:
        suspended = await client.update_endpoint(project_id, first, suspend_timeout_seconds=300)
        resized = await client.update_endpoint(project_id, second, autoscaling_limit_max_cu=2)
        finished = await settled(client, resized.operations)
        endpoint = await client.get_endpoint(project_id, second)

    assert suspended.operations
    assert all(operation.status == "finished" for operation in finished)
    assert endpoint.autoscaling_limit_max_cu == 2
    statuses = [record.status for record in simulator.request_log if record.method == "PATCH"]
    assert statuses[0] == 200
    assert 423 in statuses
    assert statuses[-1] == 200


@pytest.mark.anyio
async def test_suspending_and_starting_a_compute_end_in_the_states_asked_for(
    served_simulator: Serve,
) -> None:
    options = SimulatorOptions(
        requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(0.1, 0.2)
    )
    simulator, base_url = served_simulator(small_world(), options)
    endpoint = next(
        endpoint for endpoint in facts(simulator).endpoints if endpoint["current_state"] == "active"
    )

    async with fast_client(
        base_url, PERSONAL_KEY, backoff_base_seconds=0.1, backoff_cap_seconds=1.0
    ) as client:
        suspended = await client.suspend_endpoint(endpoint["project_id"], endpoint["id"])
        await settled(client, suspended.operations)
        idle = await client.get_endpoint(endpoint["project_id"], endpoint["id"])
        started = await client.start_endpoint(endpoint["project_id"], endpoint["id"])
        await settled(client, started.operations)
        active = await client.get_endpoint(endpoint["project_id"], endpoint["id"])

    assert [operation.action for operation in suspended.operations] == ["suspend_compute"]
    assert idle.current_state == "idle"
    assert active.current_state == "active"


@pytest.mark.anyio
async def test_a_failing_operation_and_a_slow_one_are_reported(served_simulator: Serve) -> None:
    failing = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        operation_seconds=(0.1, 0.1),
        operation_failure_fraction=1.0,
    )
    simulator, base_url = served_simulator(small_world(), failing)
    endpoint = facts(simulator).endpoints[0]
    slow = SimulatorOptions(
        requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(60, 60)
    )
    _, slow_url = served_simulator(small_world(), slow)

    async with fast_client(base_url, PERSONAL_KEY) as client:
        result = await client.suspend_endpoint(endpoint["project_id"], endpoint["id"])
        failed = await follow_operations(
            client, result.operations, timeout_seconds=30, now=_wall, poll_initial=0.05
        )
    async with fast_client(slow_url, PERSONAL_KEY) as client:
        result = await client.suspend_endpoint(endpoint["project_id"], endpoint["id"])
        timed_out = await follow_operations(
            client, result.operations, timeout_seconds=0.4, now=_wall, poll_initial=0.1
        )

    assert timed_out.outcome == "timed_out"
    assert result.operations[0].id in (timed_out.error or "")
    assert failed.outcome == "failed"
    assert "suspend_compute" in (failed.error or "")
    assert "failed" in (failed.error or "")


@pytest.mark.anyio
async def test_request_bodies_follow_the_spec_and_mutations_take_effect(
    served_simulator: Serve, spec: dict[str, Any]
) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    world = facts(simulator)
    branch = world.deletable_branch()
    endpoint = world.endpoints[0]
    org_id = world.organizations[0]["id"]
    personal_key = world.personal_api_keys[0]
    org_key = world.org_api_keys[org_id][0]
    transport = RecordingTransport()
    project_id = branch["project_id"]

    async with fast_client(base_url, PERSONAL_KEY, transport=transport) as client:
        expiring = await client.update_branch(
            project_id, branch["id"], expires_at=WORLD_NOW + timedelta(days=3)
        )
        await client.update_branch(project_id, branch["id"], expires_at=None)
        updated = await client.update_endpoint(
            endpoint["project_id"],
            endpoint["id"],
            autoscaling_limit_min_cu=0.25,
            autoscaling_limit_max_cu=1,
            suspend_timeout_seconds=300,
        )
        await settled(client, updated.operations)
        revoked = await client.revoke_personal_api_key(personal_key["id"])
        revoked_org = await client.revoke_org_api_key(org_id, org_key["id"])
        personal_left = await client.list_personal_api_keys()
        org_left = await client.list_org_api_keys(org_id)
        deleted = await client.delete_branch(project_id, branch["id"])
        await settled(client, deleted.operations)
        again = await client.delete_branch(project_id, branch["id"])

    for request in transport.sent:
        if request.content:
            template = _template_of(request.method, request.url.path)
            validate_request_body(request.method, template, json.loads(request.content))
    assert expiring.resource is not None
    assert expiring.resource.raw["expires_at"] == "2026-11-30T12:00:00Z"
    assert revoked.resource is not None
    assert revoked.resource.raw["revoked"] is True
    assert revoked_org.resource is not None
    assert revoked_org.resource.id == org_key["id"]
    assert personal_key["id"] not in {key.id for key in personal_left}
    assert org_key["id"] not in {key.id for key in org_left}
    assert deleted.resource is not None
    assert deleted.resource.id == branch["id"]
    assert again.already_gone


def _template_of(method: str, path: str) -> str:
    from governor.simulator.routes import match_route

    match = match_route(method, path)
    assert match is not None, path
    return match.template


def _wall() -> datetime:
    return datetime.now(UTC)


async def settled(client: NeonClient, operations: list[Operation]) -> list[Operation]:
    """The operations once Neon is done with them; every one of them succeeded."""
    followed = await follow_operations(
        client, operations, timeout_seconds=30, now=_wall, poll_initial=0.1
    )
    assert followed.outcome == "succeeded", followed.error
    return followed.operations
