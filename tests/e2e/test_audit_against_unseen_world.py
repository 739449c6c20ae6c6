"""The audit's promise end to end: exactly the resources the shipped definitions select,
against a world its own generator never made, over loopback HTTP with faults and rate limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import run_cli
from tests.e2e.unseen_world import build_world, expected_findings

FAULTS = ["--fail-500", "0.02", "--fail-503", "0.02", "--fail-524", "0.01", "--seed", "11"]


@pytest.mark.slow
def test_audit_reports_exactly_the_defined_resources_and_is_stable_on_rerun(
    tmp_path: Path, simulator_process
) -> None:
    now = datetime.now(UTC)
    world = build_world(seed=20261127, now=now)
    served = simulator_process(world, tmp_path, "--rpm", "700", "--rps-per-route", "40", *FAULTS)
    env = {"NEON_API_URL": served.url, "NEON_API_KEY": "unseen-personal-token"}
    db = tmp_path / "governor.db"

    first = run_cli("audit", "--format", "json", "--db", str(db), env=env)
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    assert report["run"]["complete"] is True
    selected = {(item["policy"], item["resource_id"]) for item in report["findings"]}
    assert selected == expected_findings(world, now)

    branches = {
        branch["id"]: branch
        for org in world["organizations"]
        for project in org["projects"]
        for branch in project["branches"]
    }
    parents = {branch.get("parent_id") for branch in branches.values()}
    for item in report["findings"]:
        # the policies that delete branches (a backup schedule's branch may be the default)
        if item["policy"] in ("stale-branches", "archived-branches", "backup-branches"):
            branch = branches[item["resource_id"]]
            assert not branch["default"]
            assert not branch["protected"]
            assert branch["id"] not in parents

    second = run_cli("audit", "--format", "json", "--db", str(db), env=env)
    assert second.returncode == 1, second.stderr
    again = json.loads(second.stdout)
    first_seen = {(i["policy"], i["resource_id"]): i["first_seen"] for i in report["findings"]}
    assert {
        (i["policy"], i["resource_id"]): i["first_seen"] for i in again["findings"]
    } == first_seen
    assert again["run"]["id"] != report["run"]["id"]


def test_broken_policy_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "- name: stale\n  resource: branch\n  filters:\n    - created_at: {older_thn: 30d}\n"
    )
    result = run_cli("audit", "--policies", str(broken), env={"NEON_API_KEY": "x"})
    assert result.returncode == 2
    assert f"{broken}:4" in result.stderr
