"""Benchmark: what reading Neon's consumption meters costs for 1,000 projects.

The read the governor does for one organization (``governor.pipeline.consumption``):
v2/projects hourly for the last 168 h and daily for the billing period (100 projects a
page), then v2/branches hourly for the projects with usage (100 projects a request, 1,000
branches a page), every row into a new SQLite store. The simulator runs in process and
the client's pacer in virtual time, at the default budget of 30 requests a minute: the
wall time printed is what those requests take at 30/min (the pacing, not this machine);
the CPU time is measured (the simulator's share included, so an upper bound).

    .venv/bin/python benchmarks/consumption_read.py                 # 1,000 projects
    .venv/bin/python benchmarks/consumption_read.py --projects 100  # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from governor.neon.client import NeonClient
from governor.neon.pacing import Pacer
from governor.pipeline.consumption import read_org
from governor.simulator import Simulator, SimulatorOptions, World
from governor.store import Store

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


class VirtualTime:
    """A clock that jumps over every sleep: one reader, so nothing else runs meanwhile."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


async def measure(arguments: argparse.Namespace) -> dict[str, object]:
    world = World.generate(
        seed=arguments.seed,
        orgs=1,
        projects=arguments.projects,
        branches=arguments.branches or 3 * arguments.projects,
        now=NOW,
    )
    clock = VirtualTime()
    options = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
    simulator = Simulator(world, options, clock=clock, now=lambda: NOW)
    org_id = next(iter(world.organizations_by_id))
    routes: Counter[str] = Counter()
    pacer = Pacer(arguments.rpm, arguments.rpm, clock=clock, sleep=clock.sleep, record_history=True)
    with tempfile.TemporaryDirectory() as folder:
        async with (
            NeonClient(
                "sim-personal-key",
                base_url="http://simulator.invalid/api/v2",
                transport=simulator.transport(),
                clock=clock,
                sleep=clock.sleep,
                requests_per_minute=60_000,
                requests_per_second_per_route=1_000,
            ) as client,
            await Store.open_async(Path(folder) / "g.db") as store,
        ):
            client.use_consumption_budget(arguments.rpm, pacer=pacer)
            cpu = time.process_time()
            wall = time.perf_counter()
            read = await read_org(client, store, org_id, now=NOW)
            cpu = time.process_time() - cpu
            wall = time.perf_counter() - wall
        for request in pacer.history or []:
            routes[request.route.split("/")[-1]] += 1
    return {
        "projects": arguments.projects,
        "outcome": read.outcome,
        "rows": read.rows,
        "requests": sum(routes.values()),
        "by_route": dict(routes),
        "paced_minutes": clock.now / 60.0,
        "minutes_at_rpm_steady": sum(routes.values()) / arguments.rpm,
        "cpu_seconds": cpu,
        "wall_seconds_here": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--branches", type=int, default=0, help="default: 3 per project")
    parser.add_argument("--rpm", type=int, default=30, help="the consumption budget")
    parser.add_argument("--seed", type=int, default=1)
    figures = asyncio.run(measure(parser.parse_args()))
    for key, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"{key}: {shown}")


if __name__ == "__main__":
    main()
