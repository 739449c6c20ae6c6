"""Sweeps of simulated worlds over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from governor.model.snapshot import Snapshot
from governor.neon.errors import NeonAuthError
from governor.simulator import SimulatorOptions, World
from governor.simulator.reads import project_list_item
from governor.sweep import SweepProgress, sweep
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import FaultyTransport, RecordingTransport, fast_client, touches_project
from tests.neon.windows import max_in_window, max_per_route_in_window
from tests.neon.world_facts import WorldFacts, by_id, facts_of

Serve = Callable[..., ServedSimulator]
PERSONAL_KEY = "sim-personal-key"
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


def small_world() -> World:
    return World.generate(seed=1, orgs=2, projects=24, branches=200, now=WORLD_NOW)


def listed(projects: list[dict[str, Any]], detailed: frozenset[str] = frozenset()) -> list[Any]:
    """The projects as the sweep keeps them: list items, full objects where it read details."""
    return [
        project if project["id"] in detailed else project_list_item(project) for project in projects
    ]


def assert_exactly(
    snapshot: Snapshot, expected: WorldFacts, detailed: frozenset[str] = frozenset()
) -> None:
    """The snapshot holds the world's objects, verbatim, and nothing else: projects as the
    project list gives them, except those in ``detailed`` (read with GET /projects/{id})."""
    assert {org.id: org.raw for org in snapshot.organizations} == by_id(expected.organizations)
    assert {project.id: project.raw for project in snapshot.projects} == by_id(
        listed(expected.projects, detailed)
    )
    assert {branch.id: branch.raw for branch in snapshot.branches} == by_id(expected.branches)
    assert len(snapshot.branches) == len(expected.branches)
    assert {endpoint.id: endpoint.raw for endpoint in snapshot.endpoints} == by_id(
        expected.endpoints
    )
    expected_keys = {("personal", None, key["id"]) for key in expected.personal_api_keys}
    for org_id, keys in expected.org_api_keys.items():
        for key in keys:
            scope = "project" if key.get("project_id") else "organization"
            expected_keys.add((scope, org_id, key["id"]))
    seen_keys = {(record.scope, record.org_id, record.key.id) for record in snapshot.api_keys}
    assert seen_keys == expected_keys
    assert len(snapshot.api_keys) == len(expected_keys)


def broken_projects_for(org_id: str) -> Callable[[httpx.Request], bool]:
    return lambda request: (
        request.url.path.endswith("/projects") and request.url.params.get("org_id") == org_id
    )


@pytest.mark.anyio
async def test_a_faulty_rate_limited_world_sweeps_complete_and_exact(
    served_simulator: Serve,
) -> None:
    rpm, rps = 3000, 15
    options = SimulatorOptions(
        requests_per_minute=rpm,
        requests_per_second_per_route=rps,
        fail_500=0.02,
        fail_503=0.02,
        fail_524=0.01,
        seed=5,
    )
    simulator, base_url = served_simulator(small_world(), options)
    expected = facts_of(simulator.world.to_dict())
    transport = RecordingTransport()

    async with fast_client(
        base_url,
        PERSONAL_KEY,
        requests_per_minute=rpm,
        requests_per_second_per_route=rps,
        max_attempts=8,
        backoff_base_seconds=0.05,
        backoff_cap_seconds=1.0,
        transport=transport,
    ) as client:
        snapshot = await sweep(client, concurrency=16)

    assert snapshot.incomplete == []
    assert snapshot.complete
    assert_exactly(snapshot, expected)
    assert snapshot.org_ids == [org["id"] for org in expected.organizations]
    log = simulator.request_log
    assert snapshot.requests == len(log)
    statuses = [record.status for record in log]
    assert {500, 503, 524} & set(statuses)
    assert 429 not in statuses
    assert 400 not in statuses  # org_id was always passed with the personal key
    assert max_per_route_in_window([(record.route, record.at) for record in log], 1.0) <= rps
    assert max_in_window([record.at for record in log], 60.0) <= rpm
    listings = [request for request in transport.sent if request.url.path.endswith("/projects")]
    assert all(request.url.params.get("org_id") for request in listings)
    assert snapshot.key_scope == "personal"


@pytest.mark.anyio
async def test_an_unreadable_project_is_incomplete_and_the_rest_complete(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    expected = facts_of(simulator.world.to_dict())
    broken = expected.projects[3]
    org_id = broken["org_id"]
    transport = FaultyTransport(touches_project(broken["id"]), status=500)

    async with fast_client(base_url, PERSONAL_KEY, max_attempts=2, transport=transport) as client:
        snapshot = await sweep(client)

    assert not snapshot.complete
    parts = {(part.kind, part.org_id, part.project_id) for part in snapshot.incomplete}
    # No loaded policy needs the project's detail, so only its two lists were read.
    assert parts == {(kind, org_id, broken["id"]) for kind in ("branches", "endpoints")}
    assert all("HTTP 500" in part.reason for part in snapshot.incomplete)
    assert all("request id" in part.reason for part in snapshot.incomplete)
    assert not snapshot.covers("branch", org_id, broken["id"])
    assert not snapshot.covers("endpoint", org_id, broken["id"])
    others = [project for project in expected.projects if project["id"] != broken["id"]]
    for project in others:
        assert snapshot.covers("branch", project["org_id"], project["id"])
    full = {project.id: project.raw for project in snapshot.projects}
    assert {pid: raw for pid, raw in full.items() if pid != broken["id"]} == by_id(listed(others))
    assert broken["id"] in full  # still known to exist, from the project list
    readable = {
        branch["id"] for branch in expected.branches if branch["project_id"] != broken["id"]
    }
    assert {branch.id for branch in snapshot.branches} == readable


@pytest.mark.anyio
async def test_a_failing_project_list_leaves_only_that_organization_unknown(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    expected = facts_of(simulator.world.to_dict())
    failing, healthy = (org["id"] for org in expected.organizations)
    transport = FaultyTransport(broken_projects_for(failing), status=503)

    async with fast_client(base_url, PERSONAL_KEY, max_attempts=2, transport=transport) as client:
        snapshot = await sweep(client)

    assert [(part.kind, part.org_id) for part in snapshot.incomplete] == [("projects", failing)]
    assert "after 2 attempts" in snapshot.incomplete[0].reason
    some_project = expected.projects_of(failing)[0]["id"]
    assert not snapshot.covers("project", failing, some_project)
    assert snapshot.covers("project", healthy, expected.projects_of(healthy)[0]["id"])
    assert {project.id for project in snapshot.projects} == {
        project["id"] for project in expected.projects_of(healthy)
    }


@pytest.mark.anyio
async def test_an_unreadable_organization_list_makes_everything_unknown(
    served_simulator: Serve,
) -> None:
    _, base_url = served_simulator(small_world(), NO_LIMITS)
    transport = FaultyTransport(
        lambda request: request.url.path.endswith("/users/me/organizations"), status=503
    )

    async with fast_client(base_url, PERSONAL_KEY, max_attempts=2, transport=transport) as client:
        snapshot = await sweep(client)

    assert [part.kind for part in snapshot.incomplete] == ["organizations"]
    assert not snapshot.covers("project", "org-anything", "any-project")
    assert snapshot.projects == []


@pytest.mark.anyio
async def test_an_organization_key_sweeps_its_organization_and_personal_keys_do_not_apply(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    expected = facts_of(simulator.world.to_dict())
    org_id = expected.organizations[1]["id"]

    async with fast_client(base_url, f"sim-org-key-{org_id}") as client:
        snapshot = await sweep(client)

    assert snapshot.incomplete == []
    assert_exactly(snapshot, expected.only(org_id))
    assert snapshot.org_ids == [org_id]
    assert snapshot.key_scope == "organization"


@pytest.mark.anyio
async def test_a_project_key_sweeps_its_project_and_nothing_is_missing(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    expected = facts_of(simulator.world.to_dict())
    scope: dict[str, Any] = simulator.world.keys["sim-project-key"]

    async with fast_client(base_url, "sim-project-key") as client:
        snapshot = await sweep(client)

    assert snapshot.incomplete == []
    only = expected.only(scope["org_id"], scope["project_id"])
    only.organizations = []  # a project key cannot read its organization
    assert_exactly(snapshot, only)
    assert snapshot.org_ids == [scope["org_id"]]
    assert snapshot.key_scope == "project"


@pytest.mark.anyio
async def test_named_organizations_are_the_only_ones_swept(served_simulator: Serve) -> None:
    simulator, base_url = served_simulator(small_world(), NO_LIMITS)
    expected = facts_of(simulator.world.to_dict())
    org_id = expected.organizations[0]["id"]

    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(client, org_ids=[org_id])

    assert snapshot.incomplete == []
    only = expected.only(org_id)
    only.personal_api_keys = expected.personal_api_keys
    assert_exactly(snapshot, only)
    assert "GET /users/me/organizations" not in {record.route for record in simulator.request_log}


@pytest.mark.anyio
async def test_projects_neon_lists_as_unavailable_are_read_directly(
    served_simulator: Serve,
) -> None:
    world = small_world()
    expected = facts_of(world.to_dict())
    hidden = expected.projects[5]["id"]
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        unavailable_project_ids=frozenset({hidden}),
    )
    _, base_url = served_simulator(world, options)

    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(client)

    assert snapshot.incomplete == []
    assert_exactly(snapshot, expected, detailed=frozenset({hidden}))


@pytest.mark.anyio
async def test_an_unavailable_project_that_cannot_be_read_stays_unknown_never_gone(
    served_simulator: Serve,
) -> None:
    world = small_world()
    expected = facts_of(world.to_dict())
    hidden = expected.projects[5]
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        unavailable_project_ids=frozenset({hidden["id"]}),
    )
    _, base_url = served_simulator(world, options)
    transport = FaultyTransport(touches_project(hidden["id"]), status=503)

    async with fast_client(base_url, PERSONAL_KEY, max_attempts=2, transport=transport) as client:
        snapshot = await sweep(client)

    assert ("projects", hidden["org_id"], hidden["id"]) in {
        (part.kind, part.org_id, part.project_id) for part in snapshot.incomplete
    }
    assert not snapshot.covers("project", hidden["org_id"], hidden["id"])
    assert hidden["id"] not in {project.id for project in snapshot.projects}


@pytest.mark.anyio
async def test_a_refused_key_aborts_the_sweep(served_simulator: Serve) -> None:
    _, base_url = served_simulator(small_world(), NO_LIMITS)

    async with fast_client(base_url, "not-a-key") as client:
        with pytest.raises(NeonAuthError) as caught:
            await sweep(client)

    assert caught.value.status == 401


@pytest.mark.anyio
async def test_progress_counts_reach_the_totals(served_simulator: Serve) -> None:
    _, base_url = served_simulator(small_world(), NO_LIMITS)
    seen: list[SweepProgress] = []

    async with fast_client(base_url, PERSONAL_KEY) as client:
        snapshot = await sweep(client, progress=seen.append)

    last = seen[-1]
    assert last.projects_done == last.projects_total == 24
    assert last.organizations_done == last.organizations_total == 2
    assert last.requests == snapshot.requests
    done = [state.projects_done for state in seen]
    assert done == sorted(done)
