"""Benchmark: the client's CPU per answer, httpx's own transport (httpcore/anyio) against
``NeonTransport`` (asyncio + h11), in one run.

Prints figures and ratios; it is not a timed test. One world is served by
``neon-governor simulate`` in its own process (no added latency, rate limits far above
what the client reaches), and each measured run is a child process of its own, so its CPU
(``time.process_time``: user + system, all threads) is the client's alone; the server's
CPU per answer is read from ``/proc``. Runs alternate between the transports (old, new,
old, new...) so a machine busy with other work weighs on both alike.

Two workloads: ``get``, one project's branch list read again and again through
``NeonClient`` (the HTTP path, the key's pacer, decoding: no sweep work), and ``sweep``,
the whole account read by ``governor.sweep.sweep`` (what ``inventory`` and ``audit`` do).

    .venv/bin/python benchmarks/transport_cpu.py                      # 1,000 projects
    .venv/bin/python benchmarks/transport_cpu.py --projects 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
KEY = "sim-personal-key"
RPM = 6_000_000  # far above what one core reaches: the client's CPU sets the pace
TRANSPORTS = ("httpx", "neon")


def start_simulator(
    projects: int, branches_per_project: int
) -> tuple[subprocess.Popen[str], str, str]:
    """The simulator's process, its base URL and its organization's id."""
    world = Path(tempfile.mkdtemp(prefix="bench-world-")) / "world.json"
    command = [
        sys.executable, "-m", "governor", "simulate", "--seed", "1", "--orgs", "1",
        "--projects", str(projects), "--branches", str(projects * branches_per_project),
        "--no-rate-limits", "--port", "0", "--dump-world", str(world),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=CHILD_ENV,
    )  # fmt: skip
    assert process.stdout is not None
    threading.Thread(target=lambda: process.stderr and process.stderr.read(), daemon=True).start()
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        process.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    org_id = json.loads(world.read_text())["organizations"][0]["id"]
    world.unlink()
    world.parent.rmdir()
    return process, line.split(" ", 1)[1], org_id


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the child: one measured run ----------------------------------------------------------


async def _child(arguments: argparse.Namespace) -> dict[str, Any]:
    import httpx

    from governor.neon.client import NeonClient
    from governor.neon.transport import NeonTransport
    from governor.sweep import sweep

    transport: httpx.AsyncBaseTransport
    if arguments.transport == "httpx":
        limits = httpx.Limits(
            max_connections=arguments.concurrency,
            max_keepalive_connections=arguments.concurrency,
        )
        transport = httpx.AsyncHTTPTransport(limits=limits)
    else:
        transport = NeonTransport(max_connections=arguments.concurrency)
    async with NeonClient(
        KEY,
        base_url=arguments.url,
        requests_per_minute=RPM,
        requests_per_second_per_route=RPM // 60,
        max_connections=arguments.concurrency,
        transport=transport,
    ) as client:
        project_id = ""
        if arguments.workload == "get":
            async for project in client.iter_projects(arguments.org, page_size=1):
                project_id = project.id
                break
        before = client.requests
        cpu, wall = time.process_time(), time.perf_counter()
        if arguments.workload == "sweep":
            snapshot = await sweep(client, concurrency=arguments.concurrency)
            complete = snapshot.complete
        else:
            left = arguments.gets

            async def worker() -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    [branch async for branch in client.iter_branches(project_id)]

            await asyncio.gather(*(worker() for _ in range(arguments.concurrency)))
            complete = True
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return {
            "answers": client.requests - before,
            "cpu_seconds": cpu,
            "wall_seconds": wall,
            "complete": complete,
        }


def child_main(arguments: argparse.Namespace) -> int:
    holder: list[dict[str, Any]] = []

    async def run() -> None:  # asyncio.run repr()s a returned value: return nothing
        holder.append(await _child(arguments))

    asyncio.run(run())
    print("RESULT " + json.dumps(holder[0]), flush=True)
    return 0


def measured(
    arguments: argparse.Namespace, url: str, org_id: str, server_pid: int, transport: str
) -> dict[str, Any]:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--child", "--url", url, "--org", org_id,
        "--transport", transport, "--workload", arguments.workload,
        "--concurrency", str(arguments.concurrency), "--gets", str(arguments.gets),
    ]  # fmt: skip
    server_before = cpu_seconds_of(server_pid)
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, cwd=ROOT, env=CHILD_ENV
    )
    server = cpu_seconds_of(server_pid) - server_before
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            figures: dict[str, Any] = json.loads(line[len("RESULT ") :])
            figures["server_cpu_seconds"] = server  # includes the child's start-up reads
            return figures
    raise SystemExit(f"the {transport} run failed: {done.stdout[-1000:]} {done.stderr[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--branches-per-project", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workloads", default="get,sweep")
    parser.add_argument("--gets", type=int, default=4000, help="answers in the get workload")
    parser.add_argument("--rounds", type=int, default=2, help="runs per transport")
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--org", help=argparse.SUPPRESS)
    parser.add_argument("--transport", choices=TRANSPORTS, help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        return child_main(arguments)
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"Python {sys.version.split()[0]}; {arguments.projects} projects, "
        f"{arguments.branches_per_project} branches each, concurrency {arguments.concurrency}, "
        "no added latency"
    )
    server, url, org_id = start_simulator(arguments.projects, arguments.branches_per_project)
    results: dict[str, Any] = {}
    try:
        print(
            f"{'workload':>8} {'transport':>9} {'answers':>8} {'CPU s':>7} {'ms/answer':>9} "
            f"{'answers/s':>9} {'server ms/answer':>16}"
        )
        for workload in [name for name in arguments.workloads.split(",") if name]:
            arguments.workload = workload
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in TRANSPORTS}
            for _ in range(arguments.rounds):
                for transport in TRANSPORTS:
                    figures = measured(arguments, url, org_id, server.pid, transport)
                    runs[transport].append(figures)
                    answers = figures["answers"]
                    print(
                        f"{workload:>8} {transport:>9} {answers:>8} "
                        f"{figures['cpu_seconds']:>7.2f} "
                        f"{1e3 * figures['cpu_seconds'] / answers:>9.3f} "
                        f"{answers / figures['wall_seconds']:>9.0f} "
                        f"{1e3 * figures['server_cpu_seconds'] / answers:>16.3f}"
                        + ("" if figures["complete"] else "  (INCOMPLETE)"),
                        flush=True,
                    )
            per_answer = {
                name: statistics.median(run["cpu_seconds"] / run["answers"] for run in rows)
                for name, rows in runs.items()
            }
            rate = {
                name: statistics.median(run["answers"] / run["wall_seconds"] for run in rows)
                for name, rows in runs.items()
            }
            print(
                f"{workload:>8}: client CPU per answer (median) httpx "
                f"{1e3 * per_answer['httpx']:.3f} ms, neon {1e3 * per_answer['neon']:.3f} ms: "
                f"{per_answer['httpx'] / per_answer['neon']:.2f}x less; answers/s "
                f"{rate['httpx']:.0f} -> {rate['neon']:.0f} ({rate['neon'] / rate['httpx']:.2f}x)"
            )
            results[workload] = {"runs": runs, "cpu_per_answer": per_answer, "rate": rate}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
