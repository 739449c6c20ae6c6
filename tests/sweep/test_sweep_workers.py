"""The sweep's projects are read by a fixed set of workers, not a task per project."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from governor.simulator import SimulatorOptions, World
from governor.sweep import SweepProgress, sweep
from governor.sweep.spool import ProjectSpool
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import fast_client

Serve = Callable[..., ServedSimulator]
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


@pytest.mark.anyio
async def test_a_sweep_of_many_projects_keeps_a_fixed_number_of_tasks(
    served_simulator: Serve,
) -> None:
    world = World.generate(seed=2, orgs=1, projects=80, branches=160, now=WORLD_NOW)
    _, base_url = served_simulator(world, NO_LIMITS)
    most = 0

    def progress(_: SweepProgress) -> None:
        nonlocal most
        most = max(most, len(asyncio.all_tasks()))

    async with fast_client(base_url, "sim-personal-key") as client:
        snapshot = await sweep(client, concurrency=2, progress=progress)

    assert len(snapshot.projects) == 80
    assert snapshot.complete
    # 4 workers (2 x concurrency), each with a project's two reads gathered, and a few
    # others (the test, the organization, its keys): a task per project made it over 80
    assert most <= 24


@pytest.mark.anyio
async def test_a_spooled_sweep_keeps_only_the_projects_and_gives_back_the_rest(
    served_simulator: Serve,
) -> None:
    world = World.generate(seed=2, orgs=2, projects=12, branches=48, now=WORLD_NOW)
    _, base_url = served_simulator(world, NO_LIMITS)
    async with fast_client(base_url, "sim-personal-key") as client:
        whole = await sweep(client)
        with ProjectSpool() as spool:
            spooled = await sweep(client, spool=spool)
            assert not spooled.branches
            assert not spooled.endpoints
            assert [p.id for p in spooled.projects] == [p.id for p in whole.projects]
            assert len(spooled.spooled) == 12
            branches = [b for record in spooled.spooled for b in spool.get(record.where)[0]]
    assert {b.id: b.raw for b in branches} == {b.id: b.raw for b in whole.branches}
    roots = {root[0] for record in spooled.spooled for root in record.roots}
    assert roots == {b.id for b in whole.branches if not b.parent_id}
