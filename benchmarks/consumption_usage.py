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
import contextlib
import inspect
import resource
import subprocess
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


def _rss_peak_mb() -> float:
    """This process's peak resident memory since the last reset (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_rss_peak() -> None:
    """Linux: start VmHWM again from the current RSS (``echo 5 > /proc/self/clear_refs``)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def start_simulator(arguments: argparse.Namespace) -> tuple[subprocess.Popen[str], str, str]:
    """``neon-governor simulate`` in its own process: its URL and organization id."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "governor", "simulate", "--seed", str(arguments.seed),
            "--orgs", "1", "--projects", str(arguments.projects),
            "--branches", str(arguments.branches_per_project * arguments.projects),
            "--no-rate-limits", "--port", "0",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stderr is not None
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        process.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    for text in process.stderr:
        if "(organization key for " in text:
            org_id = text.rsplit("(organization key for ", 1)[1].strip().rstrip(")")
            return process, line.split(" ", 1)[1], org_id
    process.kill()
    raise SystemExit("the simulator printed no organization key")


async def measure_served(arguments: argparse.Namespace) -> dict[str, Any]:
    """The governor alone in this process, the simulator in its own: CPU and peak RSS."""
    process, url, org_id = start_simulator(arguments)
    figures: dict[str, Any] = {
        "projects": arguments.projects,
        "branches": arguments.branches_per_project * arguments.projects,
    }
    batched = "project_ids" in inspect.signature(meters.usage_for).parameters
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with (
                NeonClient(
                    "sim-personal-key", base_url=url, requests_per_minute=60_000,
                    requests_per_second_per_route=1_000,
                ) as client,
                await Store.open_async(Path(folder) / "g.db") as store,
            ):  # fmt: skip
                client.use_consumption_budget(60_000)
                now = datetime.now(UTC)
                figures["RSS before MB"] = _rss_peak_mb()
                for name in ("read", "re-read"):
                    _reset_rss_peak()
                    cpu, wall = time.process_time(), time.perf_counter()
                    read = await read_org(client, store, org_id, now=now)
                    figures[f"{name} CPU s"] = time.process_time() - cpu
                    figures[f"{name} wall s"] = time.perf_counter() - wall
                    figures[f"{name} rows"] = read.rows
                    figures[f"{name} written"] = getattr(read, "written", "-")
                    figures[f"{name} peak RSS MB"] = _rss_peak_mb()
                _reset_rss_peak()
                cpu = time.process_time()
                usage = await store.run(meters.usage_for, now, None)
                figures["usage CPU s"] = time.process_time() - cpu
                figures["usage peak RSS MB"] = _rss_peak_mb()
                del usage
                if batched:
                    _reset_rss_peak()
                    cpu = time.process_time()
                    some = [f"{index}" for index in range(0)]
                    usage = await store.run(meters.usage_for, now, None, project_ids=some)
                    figures["usage of none CPU s"] = time.process_time() - cpu
                    del usage
    finally:
        process.kill()
        process.wait()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace", action="store_true", help="peak traced memory (slower)")
    parser.add_argument(
        "--served",
        action="store_true",
        help="the simulator in its own process: this process's CPU and peak RSS are the "
        "governor's alone",
    )
    parser.add_argument("--branches-per-project", type=int, default=10, help="with --served")
    arguments = parser.parse_args()
    holder: list[dict[str, Any]] = []

    async def run() -> None:  # asyncio.run repr()s a returned value: return nothing
        holder.append(await (measure_served if arguments.served else measure)(arguments))

    asyncio.run(run())
    for key, value in holder[0].items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"{key}: {shown}", file=sys.stdout)


if __name__ == "__main__":
    main()
