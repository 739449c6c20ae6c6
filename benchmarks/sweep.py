"""Benchmark: a full audit at the API's bound, and against a plain loop over Neon's SDK.

Prints figures and ratios; it is not a timed test. Every world is served by
``neon-governor simulate`` in its own process (one organization, about 10 branches per
project), so the server's threads do not compete with the client for the GIL. Each
governor run is a child process of its own, so its peak RSS is the audit's alone.

Part 1, at the bound: for each world size and latency, one ``audit`` (sweep, evaluate the
shipped policies, estimate, store into a fresh SQLite file) with a personal key. Printed:
requests made, the minimum for that world (``minimum_requests``), wall time of the sweep
and of the whole audit, the bound, their ratio, 429s, peak RSS. The bound is the longer of
requests ÷ the per-minute rate and the busiest route's requests (one branch list and one
compute list per project) ÷ the per-route rate. The default limits (6,000/min and 100/s
per route; 60,000/min and 1,000/s from 10,000 projects) are far above Neon's (700/min,
40/s) to keep the runs short; say so when quoting them.

Part 2, against the SDK: a 200-project world at Neon's real limits (700/min, 40/s per
route), at 0, 50 and 100 ms and 20-60 ms latency. The same reads (project pages, each
project's branches and computes, the organization's keys) made the way a user of Neon's
official Python SDK (``neon-api``) would write them: sequential, the SDK's calls, no
pacing, no retries (the SDK has neither); and by the governor's sweep. Two budgets: per
key (each run has the simulator's budget to itself), and one shared account budget (both
run at once with the same key, as when CI and the Console share the account's budget).

Before and after in one run (part 1): ``--before REV`` (default ``6833fac``, the commit
before issue 21) checks REV out into a temporary ``git worktree`` (removed at the end) and
runs the same child (this file, with PYTHONPATH at that tree; it passes ``keep_snapshot``
only where ``run_audit`` has it) against a fresh world of the same seed, served by this
checkout's simulator; both rows are printed, then after ÷ before. ``--before ''``: after only.

The consumption read: part 1's audits run with ``[consumption]`` on (Neon's v2 meters
after the sweep, then the estimates priced from them), at a budget raised from the default
30/min to ``--consumption-rpm`` (6,000) so the runs stay short; the columns *c.req*, *c.s*
(wall time of the read and the store's usage pass), *c.CPU* (the child's CPU during them)
and *c.30/min* (what the requests take at the default budget: 30 at once, then 30 a
minute). Up to ``--consumption-max-projects`` (100): the rows grow with projects x
branches x 168 h, and the simulator computes each one.

Part 3 (``--skip-history`` to skip): the consumption read against stores that already
kept 1 and 30 days of series (``consumption_read.py --kept-days 1,30``): its requests,
CPU and peak RSS should not grow with the history kept.

30,000 projects: ``--sizes 30000`` at 60,000/min and 1,000/s per route (as 10,000);
``--large-branches-per-project`` gives those worlds fewer branches (the simulator's world of
300,000 branches takes minutes and gigabytes to generate).

    .venv/bin/python benchmarks/sweep.py                        # 100 and 1,000 projects
    .venv/bin/python benchmarks/sweep.py --sizes 100,1000,10000 # the 10,000 run: minutes
    .venv/bin/python benchmarks/sweep.py --skip-sdk --latencies 100
    .venv/bin/python benchmarks/sweep.py --sizes 10000,30000 --latencies 20:60 --skip-sdk
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Children import the governor of this checkout, wherever the command is run from.
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ORG_KEY_PREFIX = "sim-org-key-"
PERSONAL_KEY = "sim-personal-key"


# -- the simulator ----------------------------------------------------------------------


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    org_id: str
    stderr_lines: list[str]


def start_simulator(
    projects: int, branches_per_project: int, rpm: int, rps: int, latency: str, *, seed: int
) -> Server:
    command = [
        sys.executable,
        "-m",
        "governor",
        "simulate",
        "--seed",
        str(seed),
        "--orgs",
        "1",
        "--projects",
        str(projects),
        "--branches",
        str(branches_per_project * projects),
        "--rpm",
        str(rpm),
        "--rps-per-route",
        str(rps),
        "--latency-ms",
        latency,
        "--port",
        "0",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        cwd=ROOT,
        env=CHILD_ENV,
    )
    assert process.stdout is not None
    stderr_lines: list[str] = []
    reader = threading.Thread(target=lambda: stderr_lines.extend(process.stderr or []))
    reader.daemon = True
    reader.start()
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        process.kill()
        process.wait()
        raise SystemExit(f"the simulator did not start: {line!r} {''.join(stderr_lines)}")
    # The organization's id from the key lines it prints next (not --dump-world: at 30,000
    # projects that file is 1 GB and writing it doubled the simulator's peak memory).
    deadline = time.monotonic() + 60
    org_id = ""
    while not org_id and time.monotonic() < deadline:
        for text in list(stderr_lines):
            if "(organization key for " in text:
                org_id = text.rsplit("(organization key for ", 1)[1].strip().rstrip(")")
                break
        else:
            time.sleep(0.05)
    if not org_id:
        process.kill()
        process.wait()
        raise SystemExit(f"the simulator printed no organization key: {''.join(stderr_lines)}")
    return Server(process, line.split(" ", 1)[1], org_id, stderr_lines)


def stop_simulator(server: Server) -> dict[str, Any]:
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=120)
    time.sleep(0.2)  # let the reader thread take the last line
    for line in reversed(server.stderr_lines):
        if line.startswith("STATS "):
            stats: dict[str, Any] = json.loads(line[len("STATS ") :])
            return stats
    raise SystemExit("the simulator printed no STATS line: " + "".join(server.stderr_lines))


# -- the governor, in a child process ---------------------------------------------------
#
# The child runs against this checkout or against a `git worktree` of an older revision
# (``--before``): PYTHONPATH points at that tree, and this file imports only names both have.


def _hook_consumption(figures: dict[str, Any]) -> None:
    """Time the audit's consumption step where the pipeline calls it (both revisions: the
    pipeline modules look ``read_consumption`` and ``consumption_usage`` up at call time)."""
    import governor.pipeline.consumption as consumption_module

    def timed(name: str) -> None:
        original = getattr(consumption_module, name, None)
        if original is None:
            return

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            found = None
            try:
                found = await original(*args, **kwargs)
                return found
            finally:
                requests = getattr(found, "requests", None)
                if isinstance(requests, int):
                    figures[f"{name}_requests"] = requests
                figures[f"{name}_seconds"] = time.perf_counter() - wall
                figures[f"{name}_cpu_seconds"] = time.process_time() - cpu

        for module in list(sys.modules.values()):
            if (module.__name__ or "").startswith("governor.") and (
                getattr(module, name, None) is original
            ):
                setattr(module, name, wrapper)

    timed("read_consumption")
    timed("consumption_usage")


async def _child(arguments: argparse.Namespace) -> dict[str, Any]:
    import inspect

    import governor
    from governor.neon.client import NeonClient
    from governor.pipeline.audit import run_audit
    from governor.policy import load_policies, shipped_policies_path
    from governor.savings.prices import Prices
    from governor.store import Store
    from governor.sweep import Account, SweepProgress, sweep

    marks: dict[str, float] = {}
    figures: dict[str, Any] = {"governor": str(Path(governor.__file__).resolve().parent.parent)}

    def progress(state: SweepProgress) -> None:
        marks["swept"] = time.perf_counter()

    async with NeonClient(
        arguments.key,
        base_url=arguments.url,
        requests_per_minute=arguments.rpm,
        requests_per_second_per_route=arguments.rps,
        max_connections=arguments.concurrency,
    ) as client:
        started = time.perf_counter()
        cpu_started = time.process_time()
        if arguments.sweep_only:
            snapshot = await sweep(client, concurrency=arguments.concurrency, progress=progress)
            done = time.perf_counter()
            figures.update(
                requests=snapshot.requests,
                minimum=snapshot.minimum_requests,
                complete=snapshot.complete,
                projects=len(snapshot.projects),
            )
        else:
            from governor.config.consumption import ConsumptionSettings

            options: dict[str, Any] = {}
            if arguments.consumption_rpm:
                client.use_consumption_budget(arguments.consumption_rpm)
                options["consumption"] = ConsumptionSettings(
                    enabled=True, requests_per_minute=arguments.consumption_rpm
                )
                _hook_consumption(figures)
            if "keep_snapshot" in inspect.signature(run_audit).parameters:
                options["keep_snapshot"] = False  # what the CLI's audit asks (issue 21)
            policies = load_policies([shipped_policies_path()])
            async with await Store.open_async(Path(arguments.db)) as store:
                sweep_requests = 0
                result = await run_audit(
                    accounts=[Account("bench", client)],
                    store=store,
                    policies=policies,
                    prices=Prices(),
                    concurrency=arguments.concurrency,
                    progress=progress,
                    **options,
                )
                sweep_requests = result.requests
            done = time.perf_counter()
            figures.update(
                requests=sweep_requests,
                minimum=result.minimum_requests,
                complete=result.complete,
                projects=result.snapshot_counts.get("projects", 0),
                findings=len(result.findings),
                consumption_requests=client.requests - sweep_requests,
            )
            del result
        figures.update(
            sweep_seconds=marks.get("swept", done) - started,
            total_seconds=done - started,
            cpu_seconds=time.process_time() - cpu_started,
            client_429s=client.rate_limited_responses,
        )
    return figures


def child_main(arguments: argparse.Namespace) -> int:
    holder: list[dict[str, Any]] = []

    async def run() -> None:  # asyncio.run repr()s a returned value: return nothing
        holder.append(await _child(arguments))

    asyncio.run(run())
    figures = holder[0]
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(figures), flush=True)
    return 0


def start_governor(
    url: str,
    key: str,
    rpm: int,
    rps: int,
    concurrency: int,
    *,
    sweep_only: bool,
    tree: Path = ROOT,
    consumption_rpm: int = 0,
) -> tuple[subprocess.Popen[str], Path]:
    """The child audit (or sweep) against the governor in ``tree`` (this checkout, or a
    worktree of ``--before``); the simulator is always this checkout's."""
    folder = Path(tempfile.mkdtemp(prefix="bench-store-"))
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        "--url",
        url,
        "--key",
        key,
        "--rpm",
        str(rpm),
        "--rps-per-route",
        str(rps),
        "--concurrency",
        str(concurrency),
        "--db",
        str(folder / "governor.db"),
    ]
    if sweep_only:
        command.append("--sweep-only")
    command += ["--consumption-rpm", str(consumption_rpm)]  # 0: none (not the default)
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
    )
    return process, folder


def finish_governor(process: subprocess.Popen[str], folder: Path) -> dict[str, Any]:
    out, err = process.communicate()  # stderr: the client's retry warnings, if any
    for line in out.splitlines():
        if line.startswith("RESULT "):
            figures: dict[str, Any] = json.loads(line[len("RESULT ") :])
            db = folder / "governor.db"
            figures["db_mb"] = db.stat().st_size / 2**20 if db.exists() else 0.0
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()
            return figures
    raise SystemExit(
        f"the governor run failed (exit {process.returncode}): {out[-1000:]} {err[-2000:]}"
    )


# -- the SDK loop -----------------------------------------------------------------------


def sdk_loop(url: str, key: str, org_id: str) -> dict[str, Any]:
    """The reads the way a user of ``neon-api`` writes them: sequential, no retries.

    The SDK's models drop ``pagination`` from the project list, so it runs with them off
    (``ENABLE_PYDANTIC = False``, the SDK's own switch) to follow the cursor; it has no
    method for organization keys, so that one read goes through its ``_request``.
    """
    import neon_api.client
    from neon_api import NeonAPI
    from neon_api.exceptions import NeonAPIError

    neon_api.client.ENABLE_PYDANTIC = False
    neon = NeonAPI(key, base_url=url.rstrip("/") + "/")
    sent = [0]
    session_request = neon._session.request

    def counted(*args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return session_request(*args, **kwargs)

    neon._session.request = counted  # type: ignore[method-assign]
    started = time.perf_counter()
    error = ""
    try:
        projects: list[dict[str, Any]] = []
        cursor = None
        while True:
            page: Any = neon.projects(cursor=cursor, limit=400)
            projects.extend(page["projects"])
            if len(page["projects"]) < 400:
                break
            cursor = page["pagination"]["cursor"]
        for project in projects:
            neon.branches(project["id"], limit=10000)
            neon.endpoints(project["id"])
        neon._request("GET", f"organizations/{org_id}/api_keys")
    except NeonAPIError as failure:
        error = f"stopped at request {sent[0]}: {str(failure)[:60]}"
    return {"requests": sent[0], "seconds": time.perf_counter() - started, "error": error}


# -- the runs ---------------------------------------------------------------------------


def bound_seconds(requests: int, busiest_route: int, rpm: int, rps: int) -> float:
    return max(requests / (rpm / 60), busiest_route / rps)


def limits_for(arguments: argparse.Namespace, size: int) -> tuple[int, int]:
    """Part 1's limits: far above Neon's, so the runs stay short (the bound scales)."""
    rpm = arguments.rpm or (60_000 if size >= 10_000 else 6_000)
    return rpm, arguments.rps_per_route or max(1, rpm // 60)


def branches_for(arguments: argparse.Namespace, size: int) -> int:
    if size >= 30_000 and arguments.large_branches_per_project:
        return int(arguments.large_branches_per_project)
    return int(arguments.branches_per_project)


def consumption_for(arguments: argparse.Namespace, size: int) -> int:
    """The consumption budget of this size's audit; 0: no consumption read."""
    return 0 if size > arguments.consumption_max_projects else int(arguments.consumption_rpm)


@contextmanager
def worktree(revision: str) -> Iterator[Path | None]:
    """A detached ``git worktree`` of ``revision`` in a temp dir, removed afterwards."""
    if not revision:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-before-"))
    tree = folder / "tree"
    made = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), revision],
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:  # not a git checkout, or a shallow one without the revision
        shutil.rmtree(folder, ignore_errors=True)
        print(f"before: {revision} is not available ({made.stderr.strip()[:200]}): after only")
        yield None
        return
    try:
        yield tree
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
        )
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)


def audit_row(arguments: argparse.Namespace, size: int, latency: str, tree: Path) -> dict[str, Any]:
    """One audit of a fresh world (same seed for every revision) by the governor in ``tree``."""
    from governor.config import in_flight_for  # this checkout's rule, for both revisions

    rpm, rps = limits_for(arguments, size)
    branches = branches_for(arguments, size)
    made = time.perf_counter()
    server = start_simulator(size, branches, rpm, rps, latency, seed=arguments.seed)
    world_seconds = time.perf_counter() - made
    try:
        process, folder = start_governor(
            server.url,
            PERSONAL_KEY,
            rpm,
            rps,
            arguments.concurrency or in_flight_for(rpm),
            sweep_only=False,
            tree=tree,
            consumption_rpm=consumption_for(arguments, size),
        )
        figures = finish_governor(process, folder)
    finally:
        stats = stop_simulator(server)
    bound = bound_seconds(figures["requests"], size, rpm, rps)
    return {
        "projects": size,
        "branches_per_project": branches,
        "rpm": rpm,
        "rps_per_route": rps,
        "latency_ms": latency,
        **figures,
        "bound_seconds": bound,
        "ratio": figures["sweep_seconds"] / bound,
        "requests_ratio": figures["requests"] / max(1, figures["minimum"]),
        "server_429s": int(stats["statuses"].get("429", 0)),
        "world_seconds": world_seconds,
    }


PART_ONE_HEADER = (
    f"{'rev':>6} {'projects':>8} {'limits':>12} {'latency':>8} {'requests':>8} {'minimum':>8} "
    f"{'ratio':>6} {'sweep s':>8} {'bound s':>7} {'ratio':>6} {'audit s':>8} {'CPU s':>7} "
    f"{'429s':>5} {'RSS MB':>7} {'db MB':>6} {'c.req':>5} {'c.s':>6} {'c.CPU':>6} {'c.30/min':>8}"
)


def print_row(label: str, row: dict[str, Any]) -> None:
    cons = row.get("read_consumption_requests")
    if cons is None:
        consumption = f"{'-':>5} {'-':>6} {'-':>6} {'-':>8}"
    else:
        # at Neon's default [consumption] budget: the first 30 at once, then 30 a minute
        steady = max(0, cons - 30) / 30
        consumption = (
            f"{cons:>5} {row['consumption_usage_seconds']:>6.2f} "
            f"{row['consumption_usage_cpu_seconds']:>6.2f} {steady:>6.1f} m"
        )
    limits = f"{row['rpm']}/{row['rps_per_route']}"
    print(
        f"{label:>6} {row['projects']:>8} {limits:>12} "
        f"{row['latency_ms']:>8} {row['requests']:>8} {row['minimum']:>8} "
        f"{row['requests_ratio']:>6.3f} {row['sweep_seconds']:>8.2f} "
        f"{row['bound_seconds']:>7.2f} {row['ratio']:>6.3f} {row['total_seconds']:>8.2f} "
        f"{row['cpu_seconds']:>7.1f} {row['server_429s']:>5} {row['peak_rss_mb']:>7.0f} "
        f"{row['db_mb']:>6.1f} {consumption}" + ("" if row["complete"] else "  INCOMPLETE"),
        flush=True,
    )


def ratio_text(after: dict[str, Any], before: dict[str, Any]) -> str:
    def ratio(key: str) -> str:
        low = before.get(key)
        high = after.get(key)
        if not isinstance(low, int | float) or not isinstance(high, int | float) or not low:
            return "-"
        return f"{high / low:.2f}x"

    return (
        f"{'a/b':>6} sweep s {ratio('sweep_seconds')}, audit s {ratio('total_seconds')}, "
        f"CPU s {ratio('cpu_seconds')}, peak RSS {ratio('peak_rss_mb')}, "
        f"requests {ratio('requests')}, 429s {before['server_429s']} -> {after['server_429s']}"
        + (
            f", consumption s {ratio('consumption_usage_seconds')}"
            if "consumption_usage_seconds" in after and "consumption_usage_seconds" in before
            else ""
        )
    )


def part_one(arguments: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    budget = (
        f"consumption read at {arguments.consumption_rpm}/min up to "
        f"{arguments.consumption_max_projects} projects"
        if arguments.consumption_rpm
        else "no consumption read"
    )
    print(
        f"== audit at the bound: {arguments.branches_per_project} branches per project"
        + (
            f" ({arguments.large_branches_per_project} at 30,000+)"
            if arguments.large_branches_per_project
            else ""
        )
        + f", concurrency {arguments.concurrency or 'as an unset [neon] concurrency: rpm / 600'}"
        "; limits far above Neon's to keep runs short; "
        f"{budget} =="
    )
    with worktree(arguments.before) as before_tree:
        if before_tree is not None:
            print(f"before: {arguments.before} (a git worktree in {before_tree}); after: {ROOT}")
        print(PART_ONE_HEADER)
        for size in arguments.sizes:
            for latency in arguments.latencies:
                pair: dict[str, dict[str, Any]] = {}
                trees = [("before", before_tree)] if before_tree is not None else []
                for label, tree in [*trees, ("after", ROOT)]:
                    assert tree is not None
                    row = {"revision": label, **audit_row(arguments, size, latency, tree)}
                    rows.append(row)
                    pair[label] = row
                    print_row(label, row)
                if "before" in pair:
                    print(ratio_text(pair["after"], pair["before"]), flush=True)
    return rows


def part_two(arguments: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    rpm, rps, size = 700, 40, arguments.sdk_projects
    per_project = arguments.branches_per_project
    print(
        f"\n== the governor's sweep against a neon-api loop: {size} projects, "
        f"{rpm}/min, {rps}/s per route (Neon's limits) =="
    )
    print(
        f"{'latency':>8} {'budget':>8} {'SDK req':>7} {'SDK s':>7} {'gov req':>7} "
        f"{'gov s':>7} {'speed-up':>8} {'gov 429s':>8} {'burst bound s':>13}  SDK outcome"
    )
    for latency in arguments.sdk_latencies:
        for budget in ("per-key", "shared"):
            server = start_simulator(
                size, arguments.branches_per_project, rpm, rps, latency, seed=7
            )
            key = ORG_KEY_PREFIX + server.org_id
            try:
                if budget == "per-key":
                    sdk = sdk_loop(server.url, key, server.org_id)
                    stop_simulator(server)
                    server = start_simulator(size, per_project, rpm, rps, latency, seed=7)
                    key = ORG_KEY_PREFIX + server.org_id
                    process, folder = start_governor(
                        server.url, key, rpm, rps, arguments.concurrency or 16, sweep_only=True
                    )
                    governor = finish_governor(process, folder)
                else:  # both at once, one key: one budget for the account
                    process, folder = start_governor(
                        server.url, key, rpm, rps, arguments.concurrency or 16, sweep_only=True
                    )
                    time.sleep(0.5)  # the child's imports; start together
                    sdk = sdk_loop(server.url, key, server.org_id)
                    governor = finish_governor(process, folder)
            finally:
                stop_simulator(server)
            speed_up = sdk["seconds"] / governor["sweep_seconds"]
            burst = size / rps
            row = {
                "latency_ms": latency,
                "budget": budget,
                "sdk": sdk,
                "governor": governor,
                "speed_up": speed_up,
            }
            rows.append(row)
            outcome = sdk["error"] or "complete"
            shown = f"{speed_up:>7.2f}x" if not sdk["error"] else f"{'(died)':>8}"
            print(
                f"{latency:>8} {budget:>8} {sdk['requests']:>7} {sdk['seconds']:>7.2f} "
                f"{governor['requests']:>7} {governor['sweep_seconds']:>7.2f} "
                f"{shown} {governor['client_429s']:>8} {burst:>13.2f}  {outcome}"
                + ("" if governor["complete"] else "  (governor INCOMPLETE)"),
                flush=True,
            )
    return rows


def part_three(arguments: argparse.Namespace) -> None:
    """The consumption read against stores that kept 1 and 30 days of series
    (``benchmarks/consumption_read.py --kept-days``): its cost should not grow with them."""
    print(flush=True)
    subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve().parent / "consumption_read.py"),
            "--projects",
            str(arguments.history_projects),
            "--kept-days",
            arguments.kept_days,
        ],
        check=True,
        cwd=ROOT,
        env=CHILD_ENV,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000", help="world sizes, e.g. 100,1000,10000")
    parser.add_argument(
        "--latencies", default="20:60,100", help="server latencies in ms (MIN:MAX), comma-separated"
    )
    parser.add_argument(
        "--rpm",
        type=int,
        default=0,
        help="per-minute limit in part 1 (default: 6,000, and 60,000 for 10,000 projects)",
    )
    parser.add_argument(
        "--rps-per-route", type=int, default=0, help="per-route limit in part 1 (default: rpm/60)"
    )
    parser.add_argument("--branches-per-project", type=int, default=10)
    parser.add_argument(
        "--large-branches-per-project",
        type=int,
        default=0,
        help="branches per project at 30,000 projects and more (default: --branches-per-project)",
    )
    parser.add_argument(
        "--consumption-max-projects",
        type=int,
        default=100,
        help="larger worlds are audited without the consumption read (its rows grow with "
        "projects x branches x 168 h: 350,000 at 100 projects of 10 branches, 3.5 M and "
        "8 minutes at 1,000)",
    )
    parser.add_argument(
        "--before",
        default="6833fac",
        help="also run part 1 against this revision (a temporary git worktree); '' to skip",
    )
    parser.add_argument(
        "--consumption-rpm",
        type=int,
        default=6_000,
        help="part 1's audits read Neon's consumption meters at this budget (raised from "
        "[consumption]'s 30/min to keep runs short); 0: no consumption read",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="requests in flight (default: what the config gives an unset [neon] concurrency "
        "for part one's rate, 16 for part two's 700/min)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sdk-projects", type=int, default=200)
    parser.add_argument("--sdk-latencies", default="0,50,100,20:60")
    parser.add_argument("--skip-sdk", action="store_true")
    parser.add_argument("--skip-bound", action="store_true")
    parser.add_argument(
        "--skip-history", action="store_true", help="skip part 3 (consumption vs history kept)"
    )
    parser.add_argument("--history-projects", type=int, default=100)
    parser.add_argument("--kept-days", default="1,30")
    parser.add_argument("--json", help="also write every figure to this file")
    # the child process
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sweep-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--rps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        arguments.rps = arguments.rps_per_route
        return child_main(arguments)
    arguments.sizes = [int(size) for size in arguments.sizes.split(",") if size]
    arguments.latencies = [text for text in arguments.latencies.split(",") if text]
    arguments.sdk_latencies = [text for text in arguments.sdk_latencies.split(",") if text]
    print(
        f"machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}, "
        f"Python {sys.version.split()[0]}"
    )
    results: dict[str, Any] = {}
    if not arguments.skip_bound:
        results["bound"] = part_one(arguments)
    if not arguments.skip_sdk:
        results["sdk"] = part_two(arguments)
    if not arguments.skip_history:
        part_three(arguments)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
