"""Benchmark: does an audit ever stall the event loop (Slack acks, the systemd watchdog)?

Starts ``neon-governor simulate`` in its own process with a world of --projects projects and
--branches branches (default 1,000 and 10,000), runs one full audit in this process (sweep,
evaluate, estimate, record into a fresh SQLite file, with the shipped policies), and beside
it a ticker task that wakes every --tick-ms and records how late each wake-up was. Prints
the worst and the 99th-percentile lateness, and the stage timings.

    .venv/bin/python benchmarks/loop_stall.py
    .venv/bin/python benchmarks/loop_stall.py --projects 100 --branches 1000   # quicker

The rate limit is set high (60,000/min, 1,000/s per route) so the run is short: this
measures the loop, not the pacer. Exit status 1 when the worst stall exceeds --max-stall-ms.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from governor.neon.client import NeonClient
from governor.pipeline.audit import run_audit
from governor.policy import load_policies, shipped_policies_path
from governor.savings.prices import Prices
from governor.store import Store
from governor.sweep import Account

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweep_pacing import start_simulator, stop_simulator


async def ticker(tick_seconds: float, lateness: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        planned = loop.time() + tick_seconds
        await asyncio.sleep(tick_seconds)
        lateness.append(max(0.0, loop.time() - planned))


async def audit_with_ticker(arguments: argparse.Namespace, url: str, db: Path) -> None:
    lateness: list[float] = []
    stop = asyncio.Event()
    ticking = asyncio.create_task(ticker(arguments.tick_ms / 1000, lateness, stop))
    policies = load_policies([shipped_policies_path()])
    started = time.perf_counter()
    async with (
        NeonClient(
            arguments.key,
            base_url=url,
            requests_per_minute=arguments.rpm,
            requests_per_second_per_route=arguments.rps_per_route,
            max_connections=arguments.concurrency,
        ) as client,
        await Store.open_async(db) as store,
    ):
        result = await run_audit(
            accounts=[Account("default", client)],
            store=store,
            policies=policies,
            prices=Prices(),
            concurrency=arguments.concurrency,
        )
    elapsed = time.perf_counter() - started
    stop.set()
    await ticking
    ordered = sorted(lateness)
    worst = ordered[-1] * 1000 if ordered else 0.0
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000 if len(ordered) > 100 else worst
    counts = result.snapshot_counts
    print(f"world              {counts['projects']} projects, {counts['branches']} branches")
    print(f"audit              {elapsed:.2f} s, {result.requests} requests")
    print(f"complete           {result.complete}")
    print(f"findings           {len(result.findings)}")
    print(f"ticks              {len(lateness)} at {arguments.tick_ms} ms")
    print(f"worst stall        {worst:.1f} ms (must be <= {arguments.max_stall_ms} ms)")
    print(f"p99 lateness       {p99:.1f} ms")
    arguments.worst_stall_ms = worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--branches", type=int, default=10000, help="total")
    parser.add_argument("--orgs", type=int, default=1)
    parser.add_argument("--rpm", type=int, default=60000)
    parser.add_argument("--rps-per-route", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", default="0:0", help="server latency MIN:MAX")
    parser.add_argument("--key", default="sim-personal-key")
    parser.add_argument("--tick-ms", type=float, default=10.0)
    parser.add_argument("--max-stall-ms", type=float, default=100.0)
    arguments = parser.parse_args()

    server = start_simulator(arguments)
    with tempfile.TemporaryDirectory(prefix="loop-stall-") as folder:
        try:
            asyncio.run(audit_with_ticker(arguments, server.url, Path(folder) / "governor.db"))
        finally:
            stop_simulator(server)
    ok = arguments.worst_stall_ms <= arguments.max_stall_ms
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
