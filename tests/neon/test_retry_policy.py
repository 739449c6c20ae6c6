"""Per-call retry policies: a caller may take a 423 itself instead of waiting it out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from governor.neon.client import (
    MUTATION_NO_LOCKED_RETRY,
    MUTATION_RETRY,
    READ_RETRY,
    NeonClient,
    RetryPolicy,
)
from governor.neon.errors import NeonLocked, NeonServerError
from governor.neon.models import Endpoint
from governor.simulator import Simulator, SimulatorOptions, World
from tests.conftest import WORLD_NOW
from tests.neon.helpers import fast_client, virtual_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server
from tests.neon.virtual_time import VirtualClock
from tests.neon.world_facts import facts_of

OPERATION_SECONDS = 5.0
PATCH_ROUTE = "PATCH /projects/{project_id}/endpoints/{endpoint_id}"


def busy_simulator(clock: VirtualClock) -> tuple[Simulator, str, str, str]:
    """A simulator whose operations take 5 virtual seconds; a project with two computes."""
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        operation_seconds=(OPERATION_SECONDS, OPERATION_SECONDS),
    )
    world = World.generate(seed=1, orgs=2, projects=24, branches=200, now=WORLD_NOW)
    simulator = Simulator(world, options, clock=clock, now=lambda: WORLD_NOW)
    facts = facts_of(simulator.world.to_dict())
    project_id, endpoints = next(
        (pid, facts.endpoints_of(pid))
        for pid in facts.project_org
        if len(facts.endpoints_of(pid)) >= 2
    )
    return simulator, project_id, endpoints[0]["id"], endpoints[1]["id"]


async def start_an_operation(client: NeonClient, project_id: str, endpoint_id: str) -> None:
    started = await client.update_endpoint(project_id, endpoint_id, suspend_timeout_seconds=300)
    assert started.operations  # the project now has a running operation


@pytest.mark.anyio
async def test_a_mutation_without_423_retries_sees_the_lock_at_once() -> None:
    clock = VirtualClock()
    simulator, project_id, first, second = busy_simulator(clock)

    async def run() -> None:
        await start_an_operation(client, project_id, first)
        started_at = clock.now
        with pytest.raises(NeonLocked) as caught:
            await client.update_endpoint(
                project_id, second, autoscaling_limit_max_cu=2, retry=MUTATION_NO_LOCKED_RETRY
            )
        assert clock.now == started_at  # no backoff slept
        assert caught.value.status == 423
        assert caught.value.attempts == 1

    async with virtual_client(simulator, clock, max_attempts=10) as client:
        await clock.run(run())

    patches = [record for record in simulator.request_log if record.route == PATCH_ROUTE]
    assert [record.status for record in patches] == [200, 423]
    assert client.requests == 2


@pytest.mark.anyio
async def test_the_default_mutation_policy_still_waits_the_lock_out() -> None:
    clock = VirtualClock()
    simulator, project_id, first, second = busy_simulator(clock)

    async def run() -> Endpoint | None:
        await start_an_operation(client, project_id, first)
        started_at = clock.now
        resized = await client.update_endpoint(project_id, second, autoscaling_limit_max_cu=2)
        assert clock.now - started_at >= OPERATION_SECONDS
        return resized.resource

    # An update to an idle compute runs two operations (apply_config, then suspend_compute
    # as Neon suspends it again): 10 virtual seconds of lock, well within 20 tries of <= 2 s.
    async with virtual_client(
        simulator, clock, max_attempts=20, backoff_base_seconds=0.5, backoff_cap_seconds=2.0
    ) as client:
        resized = await clock.run(run())

    assert resized is not None
    assert resized.autoscaling_limit_max_cu == 2
    statuses = [record.status for record in simulator.request_log if record.route == PATCH_ROUTE]
    assert statuses[0] == 200
    assert statuses[1] == 423
    assert statuses[-1] == 200
    assert set(statuses[1:-1]) <= {423}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


ENDPOINT = {
    "id": "ep-old-sun-123456",
    "project_id": "wispy-bird-12345678",
    "branch_id": "br-cool-dew-123456",
    "autoscaling_limit_min_cu": 0.25,
    "autoscaling_limit_max_cu": 2,
}
SUSPEND_PATH = "/projects/wispy-bird-12345678/endpoints/ep-old-sun-123456/suspend"


def failing_then_ok(status: int) -> list[Reply]:
    body: Any = {"code": "", "message": "no"}
    return [Reply(status, body), Reply(200, {"endpoint": ENDPOINT, "operations": []})]


@pytest.mark.anyio
async def test_a_policy_passed_per_call_replaces_the_methods_default(
    server: ScriptedServer,
) -> None:
    server.script("POST", SUSPEND_PATH, failing_then_ok(500))
    always_500 = RetryPolicy(frozenset({500}), transport="unsent")

    async with fast_client(server.base_url) as client:
        result = await client.suspend_endpoint(
            ENDPOINT["project_id"], ENDPOINT["id"], retry=always_500
        )

    assert result.resource is not None
    assert len(server.requests_to("POST", SUSPEND_PATH)) == 2


@pytest.mark.anyio
async def test_without_a_policy_a_mutation_keeps_its_rules(server: ScriptedServer) -> None:
    server.script("POST", SUSPEND_PATH, failing_then_ok(500))

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonServerError):
            await client.suspend_endpoint(ENDPOINT["project_id"], ENDPOINT["id"])

    assert len(server.requests_to("POST", SUSPEND_PATH)) == 1


def test_the_policies_say_what_neon_documents_as_safe() -> None:
    request = httpx.Request("GET", "http://x")
    sent_then_broken = httpx.RemoteProtocolError("reset", request=request)
    not_sent = httpx.ConnectError("refused", request=request)
    for status in (423, 429, 500, 502, 503, 504, 524):
        assert READ_RETRY.retries_status(status)
    assert READ_RETRY.retries_failure(sent_then_broken)
    assert [s for s in (423, 429, 500, 502, 503, 504, 524) if MUTATION_RETRY.retries_status(s)] == [
        423,
        429,
        503,
    ]
    assert not MUTATION_RETRY.retries_failure(sent_then_broken)
    assert MUTATION_RETRY.retries_failure(not_sent)
    assert not MUTATION_NO_LOCKED_RETRY.retries_status(423)
    assert MUTATION_NO_LOCKED_RETRY.retries_status(429)
    assert MUTATION_NO_LOCKED_RETRY.retries_status(503)
    assert MUTATION_NO_LOCKED_RETRY.retries_failure(not_sent)
    for status in (400, 401, 403, 404, 409, 422):
        assert not READ_RETRY.retries_status(status)


def test_423_is_chosen_with_locked_not_in_statuses() -> None:
    with pytest.raises(ValueError, match="locked="):
        RetryPolicy(frozenset({423, 503}))
