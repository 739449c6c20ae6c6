"""`neon-governor simulate` exposes the consumption options: the storage unit served and
the consumption routes' own rate limit."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx

from tests.simulator.processes import simulate

ORG_QUERY = {
    "granularity": "daily",
    "metrics": "root_branch_bytes_month",
    "limit": "100",
}


def test_simulate_serves_the_storage_unit_and_consumption_limit_it_is_given() -> None:
    flags = ("--seed", "3", "--orgs", "1", "--projects", "2", "--branches", "4")
    with simulate(*flags, "--storage-unit", "byte_hours", "--consumption-rpm", "1") as (
        process,
        base_url,
    ):
        headers = {"Authorization": "Bearer sim-personal-key"}
        with httpx.Client(base_url=base_url, timeout=10.0, headers=headers) as client:
            (org,) = client.get("/users/me/organizations").json()["organizations"]
            projects = client.get("/projects", params={"org_id": org["id"]}).json()["projects"]
            project = projects[0]
            branches = client.get(f"/projects/{project['id']}/branches").json()["branches"]
            root = next(branch for branch in branches if not branch.get("parent_id"))
            query = ORG_QUERY | {"org_id": org["id"], "project_ids": project["id"]}
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            day = {"from": today - timedelta(days=2), "to": today - timedelta(days=1)}
            query |= {name: moment.strftime("%Y-%m-%dT%H:%M:%SZ") for name, moment in day.items()}
            first = client.get("/consumption_history/v2/projects", params=query)
            second = client.get("/consumption_history/v2/projects", params=query)
        process.terminate()
        assert process.wait(timeout=10) == 0
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0
    assert first.status_code == 200, first.text
    values = first.json()["projects"][0]["periods"][0]["consumption"][0]["metrics"]
    assert values[0]["value"] == root["logical_size"] * 24  # byte-hours


def test_simulate_refuses_an_unknown_storage_unit() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "governor", "simulate", "--storage-unit", "bytes"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "storage_unit must be byte_months, byte_hours or inconsistent" in result.stderr
