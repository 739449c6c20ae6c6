"""Benchmark: does a long sweep run at the full allowed rate without ever exceeding it?

Starts ``neon-governor simulate`` in its own process (so the server's threads do not
compete with the client for the GIL) with a generated world, sweeps it with the paced
client at the server's own limits, and prints what both sides saw: requests, elapsed
time, the ideal time (requests ÷ allowed rate, or the busiest route's requests, one
branch list per project, ÷ the per-route rate when that is longer: a sweep within one
minute's budget bursts), their ratio, 429s, and the busiest 60 s and 1 s-per-route windows
the *server* counted.

    .venv/bin/python benchmarks/sweep_pacing.py                 # 1,000 projects, 6,000/min
    .venv/bin/python benchmarks/sweep_pacing.py --projects 100  # quicker

Exit status 1 when the ratio exceeds --max-ratio, a 429 was seen, or the server counted
more than the limits in any window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from governor.neon.client import NeonClient
from governor.sweep import sweep


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    stderr_lines: list[str]


def start_simulator(arguments: argparse.Namespace) -> Server:
    command = [
        sys.executable,
        "-m",
        "governor",
        "simulate",
        "--seed",
        str(arguments.seed),
        "--orgs",
        str(arguments.orgs),
        "--projects",
        str(arguments.projects),
        "--branches",
        str(arguments.branches or 3 * arguments.projects),
        "--rpm",
        str(arguments.rpm),
        "--rps-per-route",
        str(arguments.rps_per_route),
        "--latency-ms",
        arguments.latency_ms,
        "--port",
        "0",
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    assert process.stdout is not None
    assert process.stderr is not None
    stderr_lines: list[str] = []
    reader = threading.Thread(target=lambda: stderr_lines.extend(process.stderr or []))
    reader.daemon = True
    reader.start()
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        process.kill()
        process.wait()
        raise SystemExit(f"the simulator did not start: {line!r} {''.join(stderr_lines)}")
    return Server(process, line.split(" ", 1)[1], stderr_lines)


def stop_simulator(server: Server) -> dict[str, Any]:
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=30)
    time.sleep(0.1)  # let the reader thread take the last line
    for line in reversed(server.stderr_lines):
        if line.startswith("STATS "):
            stats: dict[str, Any] = json.loads(line[len("STATS ") :])
            return stats
    raise SystemExit("the simulator printed no STATS line: " + "".join(server.stderr_lines))


async def run_sweep(arguments: argparse.Namespace, url: str) -> tuple[int, float, int, bool]:
    async with NeonClient(
        arguments.key,
        base_url=url,
        requests_per_minute=arguments.rpm,
        requests_per_second_per_route=arguments.rps_per_route,
        max_connections=arguments.concurrency,
    ) as client:
        started = time.perf_counter()
        snapshot = await sweep(client, concurrency=arguments.concurrency)
        elapsed = time.perf_counter() - started
        projects = len(snapshot.projects)
        if projects != arguments.projects or not snapshot.complete:
            print(f"WARNING: swept {projects} projects, complete={snapshot.complete}")
        return snapshot.requests, elapsed, client.rate_limited_responses, snapshot.complete


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--branches", type=int, default=0, help="total; default 3 per project")
    parser.add_argument("--orgs", type=int, default=1)
    parser.add_argument("--rpm", type=int, default=6000)
    parser.add_argument("--rps-per-route", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", default="0:0", help="server latency MIN:MAX")
    parser.add_argument("--key", default="sim-personal-key")
    parser.add_argument("--max-ratio", type=float, default=1.1)
    arguments = parser.parse_args()

    server = start_simulator(arguments)
    try:
        requests, elapsed, client_429s, complete = asyncio.run(run_sweep(arguments, server.url))
    finally:
        stats = stop_simulator(server)

    allowed_per_second = arguments.rpm / 60
    ideal = max(requests / allowed_per_second, arguments.projects / arguments.rps_per_route)
    ratio = elapsed / ideal
    key_stats: dict[str, int] = next(iter(stats["keys"].values()), {})
    server_429s = int(stats["statuses"].get("429", 0))
    max_minute = int(key_stats.get("max_per_60s", 0))
    max_route_second = int(key_stats.get("max_per_1s_per_route", 0))
    print(f"world              {arguments.orgs} org(s), {arguments.projects} projects")
    print(f"limits             {arguments.rpm}/min, {arguments.rps_per_route}/s per route")
    print(f"server latency     {arguments.latency_ms} ms, concurrency {arguments.concurrency}")
    print(f"requests           {requests} (server counted {stats['requests']})")
    print(f"elapsed            {elapsed:.2f} s")
    print(
        f"ideal              {ideal:.2f} s (requests / {allowed_per_second:g} per s, or "
        f"{arguments.projects} branch lists / {arguments.rps_per_route} per s)"
    )
    print(f"ratio              {ratio:.3f} (must be <= {arguments.max_ratio})")
    print(f"429s               {client_429s} seen by the client, {server_429s} sent by the server")
    print(f"server max / 60 s  {max_minute} (limit {arguments.rpm})")
    print(f"server max / 1 s   {max_route_second} on one route (limit {arguments.rps_per_route})")
    print(f"snapshot complete  {complete}")
    ok = (
        ratio <= arguments.max_ratio
        and client_429s == 0
        and server_429s == 0
        and max_minute <= arguments.rpm
        and max_route_second <= arguments.rps_per_route
        and complete
    )
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
