"""The daemon as systemd runs it: a subprocess, a notify socket, signals, a store on disk."""

from __future__ import annotations

import dataclasses
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from governor.simulator import World
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.daemon.conftest import (
    DEADLINE,
    DaemonProcess,
    free_loopback_port,
    runs,
    write_config,
)

pytestmark = pytest.mark.slow


def small_world() -> World:
    return World.generate(seed=3, orgs=1, projects=4, branches=12, now=WORLD_NOW)


def finished(db: Path) -> list[dict[str, object]]:
    return [run for run in runs(db) if run["status"] == "finished"]


def test_it_sweeps_on_schedule_survives_a_bad_reload_refuses_a_twin_and_stops_cleanly(
    tmp_path: Path,
    served_simulator: Callable[..., ServedSimulator],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    _, url = served_simulator(small_world())
    port = free_loopback_port()
    config = write_config(tmp_path, url, metrics_listen=f"127.0.0.1:{port}")
    db = tmp_path / "governor.db"
    daemon = start_daemon(config)
    assert daemon.notify is not None
    daemon.notify.wait_for("READY=1")
    daemon.notify.wait_for("WATCHDOG=1")
    daemon.wait_until(lambda: len(finished(db)) >= 2, "two finished sweeps")
    first, second = finished(db)[:2]
    assert first["trigger"] == second["trigger"] == "daemon"
    assert '"never-suspending"' in str(first["policies_evaluated"])
    assert '"every-branch"' in str(first["policies_evaluated"])  # no schedule: every sweep
    with closing(sqlite3.connect(db)) as reader:
        (findings,) = reader.execute("SELECT count(*) FROM findings").fetchone()
    assert findings > 0

    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=DEADLINE)
    assert health.status_code == 200, health.text
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=DEADLINE).text
    for family in (
        "neon_governor_api_requests_total",
        "neon_governor_api_retries_total",
        "neon_governor_sweep_duration_seconds",
        "neon_governor_findings",
        "neon_governor_remediations_total",
        "neon_governor_estimated_monthly_savings_usd",
        "neon_governor_job_last_success_timestamp_seconds",
    ):
        assert f"# TYPE {family}" in metrics or f"# HELP {family}" in metrics, family
    assert 'neon_governor_api_requests_total{account="default",route="GET /projects"' in metrics

    twin = subprocess.run(
        [sys.executable, "-m", "governor", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
        env={"PATH": "/usr/bin:/bin", "DAEMON_TEST_KEY": "sim-personal-key"},
    )
    assert twin.returncode == 2
    assert f"pid {daemon.process.pid}" in twin.stderr
    assert "another neon-governor daemon is running" in twin.stderr

    config.write_text("bogus = 1\n" + config.read_text())
    daemon.process.send_signal(signal.SIGHUP)
    daemon.wait_log("reload refused, the running config stays")
    count = len(finished(db))
    daemon.wait_until(lambda: len(finished(db)) > count, "a sweep after the bad reload")
    assert daemon.process.poll() is None

    assert daemon.stop(signal.SIGTERM, timeout=10) == 0
    daemon.notify.wait_for("STOPPING=1", timeout=5)
    assert all(run["status"] != "running" for run in runs(db))


def test_a_killed_sweep_is_marked_abandoned_and_the_next_start_sweeps_again(
    tmp_path: Path,
    served_simulator: Callable[..., ServedSimulator],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    simulator, url = served_simulator(small_world())
    slow = simulator.options
    simulator.options = dataclasses.replace(slow, latency_seconds=(0.5, 0.5))
    config = write_config(tmp_path, url, concurrency=1)  # one request at a time: a slow sweep
    db = tmp_path / "governor.db"
    daemon = start_daemon(config)
    daemon.wait_until(lambda: any(r["status"] == "running" for r in runs(db)), "a sweep")
    [killed] = [run for run in runs(db) if run["status"] == "running"]
    daemon.stop(signal.SIGKILL)

    simulator.options = slow
    again = start_daemon(config)
    again.wait_until(
        lambda: any(r["id"] > killed["id"] and r["status"] == "finished" for r in runs(db)),
        "a sweep after the restart",
    )
    marked = next(run for run in runs(db) if run["id"] == killed["id"])
    assert marked["status"] == "abandoned"
    assert marked["failure_reason"] == "left running by a process that stopped"
    again.wait_log(f"marked runs [{killed['id']}] abandoned")
    assert again.stop(signal.SIGTERM, timeout=10) == 0


def remediations(db: Path) -> list[dict[str, object]]:
    if not db.exists():
        return []
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as connection:
        connection.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in connection.execute("SELECT * FROM remediations ORDER BY id")]
        except sqlite3.OperationalError:  # not migrated yet
            return []


def job_runs(db: Path) -> list[dict[str, object]]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute("SELECT * FROM job_runs ORDER BY id")]


def test_sigterm_during_a_slow_sweep_abandons_it_at_once_and_marks_its_run_cancelled(
    tmp_path: Path,
    served_simulator: Callable[..., ServedSimulator],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    simulator, url = served_simulator(small_world())
    # Each read takes 5 s, one at a time: the sweep would hold a stop for minutes, far
    # beyond the 30 s this test waits, while the grace (10 min) would let it.
    simulator.options = dataclasses.replace(simulator.options, latency_seconds=(5.0, 5.0))
    config = write_config(tmp_path, url, concurrency=1, shutdown_grace="10m")
    db = tmp_path / "governor.db"
    daemon = start_daemon(config)
    daemon.wait_until(lambda: any(r["status"] == "running" for r in runs(db)), "a sweep")

    assert daemon.stop(signal.SIGTERM, timeout=30) == 0

    [run] = runs(db)
    assert (run["status"], run["failure_reason"]) == (
        "cancelled",
        "cancelled (shutdown or timeout)",
    )
    sweeps = [job for job in job_runs(db) if str(job["job"]).startswith("sweep:")]
    assert [job["outcome"] for job in sweeps] == ["cancelled"]
    log = daemon.log_text()
    assert "abandoned 1 sweeps still reading" in log
    assert "Traceback" not in log
    assert "raised an exception" not in log
    assert not re.findall(r"^\S+ (?:error|critical) .*$", log, re.MULTILINE)


AUTO_SUSPEND = """\
- name: never-suspending
  resource: endpoint
  mode: auto
  filters:
    - suspend_timeout_seconds: -1
  action: {type: set_autosuspend, seconds: 300}
"""
STARTED = ("executing", "waiting_operations", "succeeded", "failed", "skipped")


def test_sigterm_during_a_remediation_pass_claims_nothing_new_and_waits_for_the_one_in_flight(
    tmp_path: Path,
    served_simulator: Callable[..., ServedSimulator],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    world = World.generate(seed=3, orgs=1, projects=8, branches=16, now=WORLD_NOW)
    for project in world.projects.values():
        for endpoint in project.endpoints.values():
            endpoint["suspend_timeout_seconds"] = -1
    simulator, url = served_simulator(world)
    # Each change's operations take 2 s and one project changes at a time: the pass
    # would run on for most of a minute, well inside the 10 min grace.
    simulator.options = dataclasses.replace(simulator.options, operation_seconds=(2.0, 2.0))
    config = write_config(
        tmp_path,
        url,
        shutdown_grace="10m",
        policies=AUTO_SUSPEND,
        extra="[remediation]\nenabled = true\nconcurrency = 1\n",
    )
    db = tmp_path / "governor.db"
    daemon = start_daemon(config)

    def under_way() -> bool:
        rows = remediations(db)
        started = [row for row in rows if row["state"] in STARTED]
        return len(rows) >= 10 and 1 <= len(started) <= 3

    daemon.wait_until(under_way, "a remediation pass under way")
    before = sum(1 for row in remediations(db) if row["state"] in STARTED)

    assert daemon.stop(signal.SIGTERM, timeout=30) == 0

    rows = remediations(db)
    started = [row for row in rows if row["state"] in STARTED]
    assert len(started) <= before + 1  # at most one claim raced the signal
    assert len(rows) - len(started) >= 6  # the rest was never started ...
    assert {row["state"] for row in rows if row not in started} == {"planned"}  # ... and kept
    assert not [row for row in rows if row["state"] in ("executing", "waiting_operations")]
    log = daemon.log_text()
    assert "Traceback" not in log
    assert "raised an exception" not in log
    assert not re.findall(r"^\S+ (?:error|critical) .*$", log, re.MULTILINE)


def test_a_daemon_pass_that_remediates_moves_the_remediations_counter_on_metrics(
    tmp_path: Path,
    served_simulator: Callable[..., ServedSimulator],
    start_daemon: Callable[..., DaemonProcess],
) -> None:
    world = World.generate(seed=3, orgs=1, projects=3, branches=6, now=WORLD_NOW)
    for project in world.projects.values():
        for endpoint in project.endpoints.values():
            endpoint["suspend_timeout_seconds"] = -1
    _, url = served_simulator(world)
    port = free_loopback_port()
    config = write_config(
        tmp_path,
        url,
        metrics_listen=f"127.0.0.1:{port}",
        policies=AUTO_SUSPEND,
        extra="[remediation]\nenabled = true\n",
    )
    db = tmp_path / "governor.db"
    daemon = start_daemon(config)

    def all_ended() -> bool:
        rows = remediations(db)
        return bool(rows) and all(row["state"] in ("succeeded", "failed") for row in rows)

    daemon.wait_until(all_ended, "every remediation of the first pass ended")
    succeeded = sum(1 for row in remediations(db) if row["state"] == "succeeded")
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=DEADLINE).text
    assert daemon.stop(signal.SIGTERM, timeout=10) == 0

    assert succeeded > 0
    counted = re.findall(
        r'^neon_governor_remediations_total\{action="(\w+)",result="(\w+)"\} (\S+)$',
        metrics,
        re.MULTILINE,
    )
    assert counted == [("update_endpoint", "succeeded", f"{float(succeeded)}")]
