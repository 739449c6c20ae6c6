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
    .venv/bin/python benchmarks/consumption_read.py --projects 100 --kept-days 1,30

``--kept-days``: the same read against stores that already kept 1 (or 30...) days of
series (weekly reads back to then, and one a day ago), each store filled by one process
and read by a fresh one: the read's requests, CPU, time and peak RSS should not depend on
how much history the store kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from governor.config.consumption import ConsumptionSettings
from governor.neon.client import NeonClient
from governor.neon.pacing import Pacer
from governor.pipeline.consumption import read_consumption, read_org
from governor.simulator import Simulator, SimulatorOptions, World
from governor.store import Store
from governor.store import consumption as meters
from governor.sweep import Account

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


# -- does the read's cost grow with the history kept? ------------------------------------


def prefill_days(kept_days: int) -> list[int]:
    """Days back of the reads that leave ``kept_days`` of series behind: a weekly read (the
    hourly window is 168 h) from ``kept_days`` back, and one a day back, the latest, as in
    every store compared."""
    days = list(range(kept_days, 1, -7))
    return [*days, 1]


async def history_child(arguments: argparse.Namespace) -> dict[str, object]:
    """One process, one store: ``--prefill`` reads at earlier days into it; else the measured
    read at NOW (read, age out beyond [consumption] keep, the estimates' usage)."""
    world = World.generate(
        seed=arguments.seed,
        orgs=1,
        projects=arguments.projects,
        branches=arguments.branches or 3 * arguments.projects,
        now=NOW,
    )
    # The measured read's simulator first sees the world at NOW in every case (an idle
    # compute bills nothing after the ledger first saw it idle), so the reads compared match.
    first = max(prefill_days(arguments.kept_days)) if arguments.prefill else 0
    moment = [NOW - timedelta(days=first)]
    clock = VirtualTime()
    options = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
    simulator = Simulator(world, options, clock=clock, now=lambda: moment[0])
    org_id = next(iter(world.organizations_by_id))
    figures: dict[str, object] = {"kept_days": arguments.kept_days}
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
        await Store.open_async(Path(arguments.store)) as store,
    ):
        client.use_consumption_budget(arguments.rpm)
        account = Account("bench", client)
        if arguments.prefill:
            for days in prefill_days(arguments.kept_days):
                moment[0] = NOW - timedelta(days=days)
                await read_consumption([(account, org_id)], store, now=moment[0])
            return figures
        moment[0] = NOW
        figures["rows_before"] = await store.run(_bucket_rows)
        rss_before = _rss_mb()
        started_virtual = clock.now
        cpu, wall = time.process_time(), time.perf_counter()
        run = await read_consumption([(account, org_id)], store, now=NOW)
        figures["read_cpu_seconds"] = time.process_time() - cpu
        figures["read_wall_seconds"] = time.perf_counter() - wall
        figures["read_peak_rss_mb"] = _rss_mb("VmHWM:")
        cpu = time.process_time()  # the age-out read_consumption does after the read
        await store.run(meters.forget_before, NOW - ConsumptionSettings().keep)
        figures["forget_cpu_seconds"] = time.process_time() - cpu
        cpu, wall = time.process_time(), time.perf_counter()
        usage = await store.run(meters.usage_for, NOW, None)
        figures["usage_cpu_seconds"] = time.process_time() - cpu
        figures["usage_wall_seconds"] = time.perf_counter() - wall
        del usage
        figures.update(
            requests=run.requests,
            rows_read=sum(org.rows for org in run.orgs),
            # rows added or changed (where the read skips unchanged ones), else all read
            rows_written=sum(int(getattr(org, "written", org.rows)) for org in run.orgs),
            paced_minutes=(clock.now - started_virtual) / 60.0,
            rows_after=await store.run(_bucket_rows),
            rss_before_mb=rss_before,
            peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        )
    return figures


def _bucket_rows(connection: sqlite3.Connection) -> int:
    found = connection.execute("SELECT count(*) FROM consumption_buckets").fetchone()
    return int(found[0])


def _rss_mb(field: str = "VmRSS:") -> float:
    """This process's resident memory now (``VmHWM:``: its peak so far), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def history(arguments: argparse.Namespace) -> list[dict[str, object]]:
    """The measured read against stores that kept 1, 30... days: each store built by one
    process and read by a fresh one, so the peak RSS is the read's."""
    rows = []
    print(
        f"== the consumption read against a store with N days of series kept: "
        f"{arguments.projects} projects, {arguments.branches or 3 * arguments.projects} "
        f"branches, budget {arguments.rpm}/min (virtual time); the simulator in process =="
    )
    print(
        f"{'kept days':>9} {'rows kept':>10} {'requests':>8} {'rows read':>9} {'written':>9} "
        f"{'paced min':>9} "
        f"{'read CPU s':>10} {'read s':>7} {'age-out CPU s':>13} {'usage CPU s':>11} "
        f"{'RSS before':>10} "
        f"{'peak, read':>10} {'peak, usage':>11}"
    )
    for kept in arguments.kept_days:
        with tempfile.TemporaryDirectory() as folder:
            store = str(Path(folder) / "g.db")
            base = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--history-child",
                "--kept-days",
                str(kept),
                "--store",
                store,
                "--projects",
                str(arguments.projects),
                "--branches",
                str(arguments.branches),
                "--rpm",
                str(arguments.rpm),
                "--seed",
                str(arguments.seed),
            ]
            subprocess.run([*base, "--prefill"], check=True, capture_output=True)
            out = subprocess.run(base, check=True, capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{kept:>9} {row['rows_before']:>10} {row['requests']:>8} {row['rows_read']:>9} "
            f"{row['rows_written']:>9} "
            f"{row['paced_minutes']:>9.2f} {row['read_cpu_seconds']:>10.2f} "
            f"{row['read_wall_seconds']:>7.2f} {row['forget_cpu_seconds']:>13.2f} "
            f"{row['usage_cpu_seconds']:>11.2f} "
            f"{row['rss_before_mb']:>7.0f} MB {row['read_peak_rss_mb']:>7.0f} MB "
            f"{row['peak_rss_mb']:>8.0f} MB",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--branches", type=int, default=0, help="default: 3 per project")
    parser.add_argument("--rpm", type=int, default=30, help="the consumption budget")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--kept-days",
        default="",
        help="compare the read against stores that kept these days of series, e.g. 1,30",
    )
    parser.add_argument("--history-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--prefill", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.history_child:
        arguments.kept_days = int(arguments.kept_days)
        holder: list[dict[str, object]] = []

        async def child() -> None:  # asyncio.run repr()s a returned value: return nothing
            holder.append(await history_child(arguments))

        asyncio.run(child())
        print(json.dumps(holder[0]), flush=True)
        return
    if arguments.kept_days:
        arguments.kept_days = [int(days) for days in arguments.kept_days.split(",") if days]
        history(arguments)
        return
    figures = asyncio.run(measure(arguments))
    for key, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"{key}: {shown}")


if __name__ == "__main__":
    main()
