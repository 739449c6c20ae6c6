"""Benchmark: the governor's own work for one organization's consumption read and Usage.

What ``benchmarks/consumption_read.py`` prints includes the simulator's CPU (it runs in
process); this one subtracts the time spent inside the simulator's transport, so the CPU
printed is the governor's: parsing the pages, writing the rows, building ``Usage``. It
reads once into an empty store, then again (a re-read of the same window: rows written
should be 0), builds the store-wide ``Usage`` and one for a batch of 200 projects.
``--trace``: peak traced memory instead (slower; the simulator's allocations included).

    .venv/bin/python benchmarks/consumption_usage.py --projects 100
    .venv/bin/python benchmarks/consumption_usage.py --projects 1000 --trace

Works on revisions before issue 21 too (PYTHONPATH to a worktree): columns they lack
print as "-".
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from governor.neon.client import NeonClient
from governor.pipeline.consumption import read_org
from governor.simulator import Simulator, SimulatorOptions, World
from governor.store import Store
from governor.store import consumption as meters

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


class VirtualTime:
    """A clock that jumps over every sleep."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class Timed(httpx.AsyncBaseTransport):
    """The simulator's transport, with the CPU spent answering counted apart."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.cpu = 0.0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.process_time()
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.cpu += time.process_time() - started


def _peak(trace: bool) -> float:
    if not trace:
        return float("nan")
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.reset_peak()
    return peak


async def measure(arguments: argparse.Namespace) -> dict[str, Any]:
    world = World.generate(
        seed=arguments.seed,
        orgs=1,
        projects=arguments.projects,
        branches=3 * arguments.projects,
        now=NOW,
    )
    clock = VirtualTime()
    options = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
    simulator = Simulator(world, options, clock=clock, now=lambda: NOW)
    org_id = next(iter(world.organizations_by_id))
    transport = Timed(simulator.transport())
    project_ids = sorted(world.projects)[:200]
    figures: dict[str, Any] = {"projects": arguments.projects}
    batched = "project_ids" in inspect.signature(meters.usage_for).parameters
    with tempfile.TemporaryDirectory() as folder:
        async with (
            NeonClient(
                "sim-personal-key",
                base_url="http://simulator.invalid/api/v2",
                transport=transport,
                clock=clock,
                sleep=clock.sleep,
                requests_per_minute=60_000,
                requests_per_second_per_route=1_000,
            ) as client,
            await Store.open_async(Path(folder) / "g.db") as store,
        ):
            client.use_consumption_budget(60_000)
            if arguments.trace:
                tracemalloc.start()
            for name in ("read", "re-read"):
                transport.cpu = 0.0
                cpu = time.process_time()
                read = await read_org(client, store, org_id, now=NOW)
                figures[f"{name} CPU s"] = time.process_time() - cpu - transport.cpu
                figures[f"{name} rows"] = read.rows
                figures[f"{name} written"] = getattr(read, "written", "-")
                figures[f"{name} peak MB"] = _peak(arguments.trace)
            cpu = time.process_time()
            usage = await store.run(meters.usage_for, NOW, None)
            figures["usage CPU s"] = time.process_time() - cpu
            figures["usage peak MB"] = _peak(arguments.trace)
            del usage
            if batched and project_ids:
                cpu = time.process_time()
                usage = await store.run(meters.usage_for, NOW, None, project_ids=project_ids)
                figures["usage of 200 CPU s"] = time.process_time() - cpu
                figures["usage of 200 peak MB"] = _peak(arguments.trace)
                del usage
    figures["maxrss MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace", action="store_true", help="peak traced memory (slower)")
    arguments = parser.parse_args()
    holder: list[dict[str, Any]] = []

    async def run() -> None:  # asyncio.run repr()s a returned value: return nothing
        holder.append(await measure(arguments))

    asyncio.run(run())
    for key, value in holder[0].items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"{key}: {shown}", file=sys.stdout)


if __name__ == "__main__":
    main()
