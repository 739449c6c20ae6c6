"""At a size where the audit streams (many projects, several batches), a stale branch whose
compute never suspends is in every output: the text, JSON, CSV and HTML reports and the store.

Why: streaming the run per batch of projects (issue 21) must not lose what an all-in-memory
run found; this is the case the issue names, run through the real command line.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.simulator import World
from governor.simulator.timestamps import format_timestamp
from tests.e2e.conftest import run_cli

STALE_BRANCH = "br-stale-awake-1"
AWAKE_COMPUTE = "ep-stale-awake-1"


def world_with_a_stale_branch_kept_awake(now: datetime) -> dict[str, Any]:
    world = World.generate(seed=21, orgs=2, projects=400, branches=800, now=now).to_dict()
    project = world["organizations"][1]["projects"][-1]  # last of the last: the last batch
    root = next(branch for branch in project["branches"] if not branch.get("parent_id"))
    long_ago = format_timestamp(now - timedelta(days=60))
    branch = copy.deepcopy(root)
    branch.update(
        id=STALE_BRANCH,
        name="feature-forgotten",
        parent_id=root["id"],
        default=False,
        protected=False,
        created_at=long_ago,
        updated_at=long_ago,
    )
    project["branches"].append(branch)
    endpoint = copy.deepcopy(project["endpoints"][0])
    endpoint.update(
        id=AWAKE_COMPUTE,
        branch_id=STALE_BRANCH,
        type="read_write",
        suspend_timeout_seconds=-1,
        last_active=long_ago,
        started_at=long_ago,  # running since: never suspended, no connection for 60 days
        current_state="active",
        created_at=long_ago,
        updated_at=long_ago,
    )
    endpoint.pop("host", None)
    endpoint.pop("suspended_at", None)
    project["endpoints"].append(endpoint)
    return world


@pytest.mark.slow
def test_a_stale_branch_whose_compute_never_suspends_is_in_every_output(
    tmp_path: Path, simulator_process
) -> None:
    world = world_with_a_stale_branch_kept_awake(datetime.now(UTC))
    # limits raised on both sides (Neon raises them on request): a test, not a benchmark
    served = simulator_process(world, tmp_path, "--rpm", "60000", "--rps-per-route", "1000")
    config = tmp_path / "governor.toml"
    config.write_text(
        "[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n"
        "[consumption]\nrequests_per_minute = 6000\n",
        encoding="utf-8",
    )
    env = {"NEON_API_URL": served.url, "NEON_API_KEY": "sim-personal-key"}
    db = tmp_path / "governor.db"
    common = ("--config", str(config), "--db", str(db))
    wanted = {("stale-branches", STALE_BRANCH), ("never-suspending-computes", AWAKE_COMPUTE)}

    first = run_cli("audit", "--format", "json", *common, env=env)
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    assert report["run"]["complete"] is True
    found = {(item["policy"], item["resource_id"]) for item in report["findings"]}
    assert wanted <= found
    assert report["summary"]["findings"] == len(report["findings"]) > 1000

    for fmt in ("table", "markdown", "csv", "html"):
        out = tmp_path / f"report.{fmt}"
        done = run_cli("audit", "--format", fmt, *common, env=env)
        assert done.returncode == 1, done.stderr
        out.write_text(done.stdout)
        assert STALE_BRANCH in done.stdout, fmt
        assert AWAKE_COMPUTE in done.stdout, fmt
    rows = list(csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text())))
    assert wanted <= {(row["policy"], row["resource_id"]) for row in rows}

    with sqlite3.connect(db) as connection:
        stored = set(
            connection.execute(
                "SELECT policy, resource_id FROM findings WHERE status = 'open'"
            ).fetchall()
        )
        resources = {
            row[0]
            for row in connection.execute(
                "SELECT resource_id FROM resources WHERE gone_at IS NULL"
            ).fetchall()
        }
    assert wanted <= stored
    assert {STALE_BRANCH, AWAKE_COMPUTE} <= resources
