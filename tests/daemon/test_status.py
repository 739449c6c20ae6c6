"""`neon-governor status`: from the store only, in both formats; a missing store is exit 2."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.savings.totals import count_once
from governor.simulator import World
from governor.store import Store, history
from governor.store import jobs as job_runs
from tests.conftest import WORLD_NOW, ServedSimulator

runner = CliRunner()
TOP_KEYS = {
    "store",
    "now",
    "daemon",
    "jobs",
    "runs",
    "paused",
    "findings",
    "remediations",
    "approvals",
    "slack",
    "outboxes",
    "requests",
}


def config(folder: Path, extra: str = "") -> Path:
    path = folder / "governor.toml"
    path.write_text(
        "[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n" + extra
    )
    return path


def status(db: Path, cfg: Path, *args: str, url: str = "http://127.0.0.1:9/api/v2") -> Any:
    # NEON_API_URL points nowhere: status must not need the API.
    return runner.invoke(
        app,
        ["status", "--db", str(db), "--config", str(cfg), *args],
        env={"NEON_API_URL": url, "NEON_API_KEY": "unused"},
    )


def audited_store(tmp_path: Path, served: Callable[..., ServedSimulator]) -> tuple[Path, Path]:
    _, base_url = served(World.generate(seed=3, orgs=2, projects=6, branches=40, now=WORLD_NOW))
    db, cfg = tmp_path / "governor.db", config(tmp_path)
    result = runner.invoke(
        app,
        ["audit", "--db", str(db), "--config", str(cfg), "--format", "json"],
        env={"NEON_API_URL": base_url, "NEON_API_KEY": "sim-personal-key"},
    )
    assert result.exit_code == 1, result.stderr  # the generated world has findings
    return db, cfg


def test_json_reports_runs_findings_and_savings_of_the_store(
    tmp_path: Path, served_simulator: Callable[..., ServedSimulator]
) -> None:
    db, cfg = audited_store(tmp_path, served_simulator)
    with Store.open(db) as store:
        open_findings = store.call(history.findings, "open")
        (run,) = store.call(history.latest_runs)
    result = status(db, cfg, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == TOP_KEYS
    assert data["findings"]["open"] == len(open_findings) > 0
    # each cost once: the larger catalogue's findings share some (an idle project's branches)
    assert data["findings"]["estimated_monthly_savings_usd"] == round(
        count_once(f.estimate for f in open_findings).monthly_usd, 2
    )
    assert data["findings"]["estimated_monthly_savings_usd"] <= round(
        sum(f.estimated_monthly_savings_usd for f in open_findings), 2
    )
    assert sum(data["findings"]["by_severity"].values()) == len(open_findings)
    (row,) = data["runs"]
    assert (row["id"], row["trigger"], row["status"], row["requests"]) == (
        run.id,
        "audit",
        "finished",
        run.requests,
    )
    assert row["duration_seconds"] >= 0
    assert data["requests"] == {
        "last_hour": run.requests,  # the audit just ran
        "budget_per_hour": 60000 * 60,
        "since": data["requests"]["since"],
    }
    assert data["paused"]["paused"] is False
    assert data["remediations"]["enabled"] is False
    assert data["remediations"]["by_state"] == {}
    assert data["approvals"]["pending"] == 0
    assert data["daemon"]["running"] is False


def test_requests_count_only_runs_started_in_the_last_hour(tmp_path: Path) -> None:
    db = tmp_path / "governor.db"
    cfg = config(
        tmp_path,
        '\n[[accounts]]\nname = "a"\napi_key_env = "A"\nrequests_per_minute = 100\n'
        '\n[[accounts]]\nname = "b"\napi_key_env = "B"\n',
    )
    now = datetime.now(UTC)
    with Store.open(db) as store:
        for minutes_ago, requests in ((180, 500), (70, 300), (20, 40), (5, 2)):
            started = now - timedelta(minutes=minutes_ago)
            run_id = store.call(history.start_run, "daemon", started)
            store.call(
                history.finish_run,
                run_id,
                finished_at=started + timedelta(seconds=30),
                complete=True,
                requests=requests,
                errors=[],
            )
        store.call(
            history.start_run, "daemon", now - timedelta(minutes=1)
        )  # still running: no requests yet
        job = store.call(
            job_runs.start,
            "sweep",
            scheduled_for=now - timedelta(minutes=5),
            started_at=now - timedelta(minutes=5),
        )
        store.call(job_runs.end, job, finished_at=now, outcome="succeeded", run_id=4)
    result = status(db, cfg, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["requests"]["last_hour"] == 42
    assert data["requests"]["budget_per_hour"] == (100 + 60000) * 60
    assert [run["status"] for run in data["runs"]] == ["running", *["finished"] * 4]
    assert data["runs"][0]["duration_seconds"] is None
    (job_row,) = data["jobs"]
    assert (job_row["job"], job_row["outcome"], job_row["run_id"]) == ("sweep", "succeeded", 4)

    table = status(db, cfg)
    assert table.exit_code == 0
    assert "42 in the last hour of a budget of 3606000 per hour" in table.stdout
    assert "sweep" in table.stdout
    assert "succeeded" in table.stdout
    assert "off ([remediation] enabled = false); none yet" in table.stdout


def test_table_names_the_daemon_holding_the_lock(tmp_path: Path) -> None:
    lock = pytest.importorskip("governor.daemon.lock")
    db, cfg = tmp_path / "governor.db", config(tmp_path)
    Store.open(db).close()
    holder = lock.DaemonLock(db)
    holder.acquire()
    try:
        result = status(db, cfg, "--format", "json")
        table = status(db, cfg)
    finally:
        holder.release()
    daemon = json.loads(result.stdout)["daemon"]
    assert (daemon["running"], daemon["pid"]) == (True, os.getpid())
    assert f"running: pid {os.getpid()}" in table.stdout
    after = json.loads(status(db, cfg, "--format", "json").stdout)["daemon"]
    assert after["running"] is False


def test_a_missing_store_is_exit_2_with_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "nothing-here.db"
    result = status(db, config(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"neon-governor: no store at {db}: run an audit or the daemon first"
    )
    assert not db.exists()  # status never creates one


def test_a_corrupt_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "governor.db"
    db.write_bytes(b"not sqlite at all\n" * 100)
    result = status(db, config(tmp_path))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(db) in result.stderr
