"""The consumption reader against the simulator: every page, every metric, Neon's errors
as typed errors, and a budget of its own that honours 429 and Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from governor.neon.consumption import (
    PROJECT_METRIC_NAMES,
    ConsumptionNotMember,
    ConsumptionPlanRefused,
    ConsumptionRangeRefused,
    MeterReading,
)
from governor.neon.pacing import Pacer
from governor.simulator import Simulator, SimulatorOptions, World
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import RecordingTransport, fast_client, virtual_client
from tests.neon.virtual_time import VirtualClock
from tests.neon.windows import max_in_window
from tests.neon.world_facts import facts_of

Serve = Callable[..., ServedSimulator]
PERSONAL_KEY = "sim-personal-key"
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
DAY_AGO = WORLD_NOW - timedelta(days=1)


def world() -> World:
    return World.generate(seed=1, orgs=4, projects=48, branches=300, now=WORLD_NOW)


def org_of_plan(simulator: Simulator, plan: str) -> str:
    facts = facts_of(simulator.world.to_dict())
    return str(next(org["id"] for org in facts.organizations if org["plan"] == plan))


def projects_of(simulator: Simulator, org_id: str) -> set[str]:
    return {project["id"] for project in facts_of(simulator.world.to_dict()).projects_of(org_id)}


async def all_readings(client: Any, org_id: str, **kwargs: Any) -> list[MeterReading]:
    return [
        reading
        async for page in client.iter_project_consumption(org_id, **kwargs)
        for reading in page
    ]


@pytest.mark.anyio
async def test_every_page_is_read_until_an_empty_page(served_simulator: Serve) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    org_id = org_of_plan(simulator, "scale")
    transport = RecordingTransport()
    async with fast_client(base_url, PERSONAL_KEY, transport=transport) as client:
        client.use_consumption_budget(60_000)
        readings = await all_readings(
            client, org_id, start=DAY_AGO, end=WORLD_NOW, granularity="hourly", limit=5
        )
    projects = projects_of(simulator, org_id)
    pages = -(-len(projects) // 5)
    sent = [request for request in transport.sent if "consumption" in request.url.path]
    assert len(sent) in (pages, pages + 1)  # a full last page is followed by an empty one
    assert {reading.project_id for reading in readings} <= projects
    assert len({reading.project_id for reading in readings}) > 5
    query = dict(sent[0].url.params.items())
    assert query["metrics"].split(",") == list(PROJECT_METRIC_NAMES)
    assert "project_ids" not in query  # deleted projects still bill: no filter


@pytest.mark.anyio
async def test_readings_keep_neons_units_timeframes_and_periods(served_simulator: Serve) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    org_id = org_of_plan(simulator, "scale")
    async with fast_client(base_url, PERSONAL_KEY) as client:
        readings = await all_readings(
            client, org_id, start=DAY_AGO, end=WORLD_NOW, granularity="hourly"
        )
    assert readings
    assert all(reading.end - reading.start == timedelta(hours=1) for reading in readings)
    assert all(reading.value > 0 for reading in readings)  # zero metrics are omitted
    assert {reading.period_plan for reading in readings} == {"scale"}
    assert "compute_unit_seconds" in {reading.metric for reading in readings}


@pytest.mark.anyio
async def test_branch_rows_are_read_for_the_projects_asked(served_simulator: Serve) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    org_id = org_of_plan(simulator, "scale")
    projects = sorted(projects_of(simulator, org_id))[:3]
    async with fast_client(base_url, PERSONAL_KEY) as client:
        readings = [
            reading
            async for page in client.iter_branch_consumption(
                org_id, projects, start=DAY_AGO, end=WORLD_NOW, granularity="hourly"
            )
            for reading in page
        ]
    assert readings
    assert {reading.project_id for reading in readings} <= set(projects)
    assert all(reading.branch_id for reading in readings)


@pytest.mark.anyio
async def test_a_free_organization_is_refused_with_a_typed_error_that_says_why(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    org_id = org_of_plan(simulator, "free")
    async with fast_client(base_url, PERSONAL_KEY) as client:
        with pytest.raises(ConsumptionPlanRefused, match="does not qualify") as raised:
            await all_readings(client, org_id, start=DAY_AGO, end=WORLD_NOW, granularity="daily")
    assert raised.value.status == 403
    assert org_id in str(raised.value)


@pytest.mark.anyio
async def test_a_range_beyond_the_lookback_is_a_typed_406(served_simulator: Serve) -> None:
    simulator, base_url = served_simulator(world(), NO_LIMITS)
    org_id = org_of_plan(simulator, "scale")
    async with fast_client(base_url, PERSONAL_KEY) as client:
        with pytest.raises(ConsumptionRangeRefused, match="lookback"):
            await all_readings(
                client,
                org_id,
                start=WORLD_NOW - timedelta(days=30),
                end=WORLD_NOW,
                granularity="hourly",
            )


@pytest.mark.anyio
async def test_an_organization_the_key_is_not_a_member_of_is_a_typed_404(
    served_simulator: Serve,
) -> None:
    _, base_url = served_simulator(world(), NO_LIMITS)
    async with fast_client(base_url, PERSONAL_KEY) as client:
        with pytest.raises(ConsumptionNotMember, match="not a member"):
            await all_readings(
                client, "org-not-mine-123", start=DAY_AGO, end=WORLD_NOW, granularity="daily"
            )


@pytest.mark.anyio
async def test_a_429_with_retry_after_pauses_the_consumption_budget_alone() -> None:
    clock = VirtualClock()
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        consumption_requests_per_minute=2,
    )
    simulator = Simulator(world(), options, clock=clock, now=lambda: WORLD_NOW)
    org_id = org_of_plan(simulator, "scale")
    client = virtual_client(simulator, clock, backoff_cap_seconds=120, max_attempts=8)
    other_wait: list[float] = []

    async def other_reads_meanwhile() -> None:
        while client.rate_limited_responses == 0:
            await clock.sleep(0.5)
        started = clock()
        await client.list_organizations()
        other_wait.append(clock() - started)

    async def both() -> list[MeterReading]:
        other = asyncio.ensure_future(other_reads_meanwhile())
        readings = await all_readings(
            client, org_id, start=DAY_AGO, end=WORLD_NOW, granularity="daily", limit=2
        )
        await other
        return readings

    async with client:
        client.use_consumption_budget(600)  # more than the server allows: it answers 429
        started = clock()
        readings = await clock.run(both())
    assert len({reading.project_id for reading in readings}) > 2  # past the first page
    assert client.rate_limited_responses > 0
    assert clock() - started >= 30  # the Retry-After was waited out
    assert other_wait == [0.0]  # the key's other reads did not wait for it


@pytest.mark.anyio
async def test_consumption_reads_keep_to_30_a_minute_by_default() -> None:
    clock = VirtualClock()
    simulator = Simulator(world(), NO_LIMITS, clock=clock, now=lambda: WORLD_NOW)
    org_id = org_of_plan(simulator, "scale")
    client = virtual_client(simulator, clock)
    pacer = Pacer(30, 30, clock=clock, sleep=clock.sleep, record_history=True)
    async with client:
        client.use_consumption_budget(30, pacer=pacer)
        for _ in range(3):
            await clock.run(
                all_readings(
                    client, org_id, start=DAY_AGO, end=WORLD_NOW, granularity="daily", limit=1
                )
            )
    assert pacer.history is not None
    released = [request.released_at for request in pacer.history]
    assert len(released) > 30
    assert max_in_window(released, 60.0) <= 30
