"""Done when (issue 18): against a spec-following Neon the team never saw, with a world and
an answer key for the new levers, every shipped policy selects exactly the key's resources,
and ``apply`` in auto mode makes only requests Neon accepts.

Independent of the code under test: the world (with boundary cases on both sides of every
default of the issue's table) and the key are built in ``unseen_world`` without importing
governor; the governor runs as a subprocess against the simulator over loopback.
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run_cli
from tests.e2e.test_apply_against_unseen_world import _auto_policies
from tests.e2e.unseen_world import build_world, expected_findings

REPO = Path(__file__).resolve().parents[2]
TOKEN = "unseen-personal-token"


def _labels(world: dict) -> dict[str, str]:
    """Resource id → where it is and what it is, so a disagreement reads as a case."""
    labels: dict[str, str] = {}
    for org in world["organizations"]:
        labels[org["id"]] = f"org {org['name']} ({org['plan']})"
        for project in org["projects"]:
            labels[project["id"]] = f"project {project['name']}"
            for branch in project["branches"]:
                labels[branch["id"]] = f"branch {project['name']}:{branch['name']}"
            for endpoint in project["endpoints"]:
                labels[endpoint["id"]] = f"compute {endpoint['id']} in {project['name']}"
            for snapshot in project.get("snapshots", []):
                labels[snapshot["id"]] = f"snapshot {snapshot['name']} in {project['name']}"
    return labels


def _by_policy(pairs: set[tuple[str, str]], labels: dict[str, str]) -> dict[str, set[str]]:
    grouped: dict[str, set[str]] = defaultdict(set)
    for policy, resource_id in pairs:
        grouped[policy].add(labels.get(resource_id, resource_id))
    return dict(grouped)


def _shipped_policy_names() -> set[str]:
    names = set()
    for path in (REPO / "policies").glob("*.yaml"):
        for line in path.read_text().splitlines():
            if line.startswith("- name:"):
                names.add(line.split(":", 1)[1].strip())
    return names


@pytest.mark.slow
def test_every_shipped_policy_selects_exactly_the_answer_keys_resources(
    tmp_path: Path, simulator_process
) -> None:
    now = datetime.now(UTC)
    world = build_world(seed=20261218, now=now)
    expected = expected_findings(world, now)
    # the world holds a case of every shipped policy (and the key knows every policy)
    assert {policy for policy, _ in expected} == _shipped_policy_names()
    served = simulator_process(world, tmp_path, "--no-rate-limits")
    env = {"NEON_API_URL": served.url, "NEON_API_KEY": TOKEN}

    audit = run_cli("audit", "--format", "json", "--db", str(tmp_path / "g.db"), env=env)
    assert audit.returncode == 1, audit.stderr
    report = json.loads(audit.stdout)
    assert report["run"]["complete"] is True
    selected = {(item["policy"], item["resource_id"]) for item in report["findings"]}
    labels = _labels(world)
    # (selected but not in the key, in the key but not selected), per policy
    assert (_by_policy(selected - expected, labels), _by_policy(expected - selected, labels)) == (
        {},
        {},
    )


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


@pytest.mark.slow
def test_apply_in_auto_mode_sends_nothing_neon_refuses_and_waits_on_data_protection(
    tmp_path: Path, simulator_process
) -> None:
    now = datetime.now(UTC)
    world = build_world(seed=20261218, now=now)
    expected = expected_findings(world, now)
    log = tmp_path / "requests.jsonl"
    served = simulator_process(
        world, tmp_path, "--no-rate-limits", "--op-seconds", "0.05:0.2", "--request-log", str(log)
    )
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[neon]\napi_url = "{served.url}"\n'
        f'[store]\npath = "{tmp_path / "governor.db"}"\n'
        f'[policies]\npaths = ["{_auto_policies(tmp_path / "policies")}"]\n'
        "[remediation]\nenabled = true\nmax_actions_per_run = 100000\n"
        "max_branch_delete_share = 1.0\n"
    )

    applied = run_cli("apply", "--yes", "--config", str(config), env={"NEON_API_KEY": TOKEN})
    assert applied.returncode in (0, 1), applied.stderr

    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    done = [record for record in records if int(record["status"]) < 300]
    deleted = {record["path"] for record in done if record["method"] == "DELETE"}
    # Every change Neon was asked for, it accepted. The reads that may answer 4xx: a branch
    # or compute just deleted (404: the outcome the executor waits for), the consumption
    # API on plans without it (403), the spending limit on plans without it (403/422).
    refused = [
        (record["method"], record["path"], record["status"], record.get("body"))
        for record in records
        if 400 <= int(record["status"]) < 500
        and not (
            record["method"] == "GET"
            and (
                (int(record["status"]) == 404 and record["path"] in deleted)
                or (int(record["status"]) == 403 and "/consumption_history/" in record["path"])
                or (
                    int(record["status"]) in (403, 422)
                    and record["path"].endswith("/billing/spending_limit")
                )
            )
        )
    ]
    assert refused == []
    # data protection and irreversible changes wait for a person even in auto mode
    routes = Counter(record["route"] for record in done)
    assert routes["DELETE /projects/{project_id}"] == 0
    assert routes["DELETE /projects/{project_id}/snapshots/{snapshot_id}"] == 0
    assert routes["PUT /projects/{project_id}/branches/{branch_id}/backup_schedule"] == 0
    assert not [
        record
        for record in done
        if record["route"] == "PATCH /projects/{project_id}"
        and "history_retention_seconds" in json.dumps(record.get("body"))
    ]
    # while the reversible ones were sent
    assert routes["PATCH /projects/{project_id}"] >= 2  # the two projects' defaults
    assert routes["PATCH /projects/{project_id}/endpoints/{endpoint_id}"] >= 10
    # the reversible levers went through: timeouts at 5 minutes, project defaults cheaper
    timeouts = {rid for policy, rid in expected if policy == "long-suspend-timeouts"}
    replicas = {rid for policy, rid in expected if policy == "idle-read-replicas"}
    projects = {
        project["id"]: project for org in world["organizations"] for project in org["projects"]
    }
    remaining: dict[str, dict] = {}
    for project_id in projects:
        answer = _get(f"{served.url}/projects/{project_id}/endpoints")
        remaining.update({endpoint["id"]: endpoint for endpoint in answer["endpoints"]})
    for endpoint_id in timeouts - replicas:
        if endpoint_id in remaining:  # else gone with its stale branch
            assert remaining[endpoint_id]["suspend_timeout_seconds"] == 300, endpoint_id
    for policy, project_id in expected:
        if policy == "expensive-project-defaults":
            project = _get(f"{served.url}/projects/{project_id}")["project"]
            defaults = project.get("default_endpoint_settings") or {}
            assert defaults.get("suspend_timeout_seconds") != -1, project_id
            assert defaults.get("autoscaling_limit_min_cu", 0) < 1, project_id
