"""Done when (issue 16): against a Neon the team never saw, enforcing Neon's documented
compute rules, ``apply`` with the shipped policies in auto mode makes no request Neon
refuses, and every compute oversized-computes selects ends with a smaller floor.

Independent of the code under test: the world and the rules it is judged by are restated
in ``unseen_world`` (nothing here imports governor); the governor runs as a subprocess.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run_cli
from tests.e2e.unseen_world import build_world, expected_findings, oversized, valid_pair

REPO = Path(__file__).resolve().parents[2]
TOKEN = "unseen-personal-token"


def _auto_policies(folder: Path) -> Path:
    """The shipped policies as written, switched to auto mode and without grace periods."""
    folder.mkdir()
    for source in sorted((REPO / "policies").glob("*.yaml")):
        text = source.read_text().replace("mode: report", "mode: auto")
        lines = [line for line in text.splitlines() if not line.strip().startswith("grace:")]
        (folder / source.name).write_text("\n".join(lines) + "\n")
    return folder


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


@pytest.mark.slow
def test_apply_in_auto_mode_sends_nothing_neon_refuses_and_every_oversized_floor_drops(
    tmp_path: Path, simulator_process
) -> None:
    now = datetime.now(UTC)
    world = build_world(seed=20261207, now=now)
    computes = {
        endpoint["id"]: endpoint
        for org in world["organizations"]
        for project in org["projects"]
        for endpoint in project["endpoints"]
    }
    selected = {endpoint_id for endpoint_id, endpoint in computes.items() if oversized(endpoint)}
    assert len(selected) >= 10  # the world holds every kind of large compute
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
    client_errors = [record for record in records if 400 <= int(record["status"]) < 500]
    deleted = {
        record["path"]
        for record in records
        if record["method"] == "DELETE" and int(record["status"]) < 300
    }
    # Every change Neon was asked for, it accepted. The reads that may answer 4xx are the
    # executor's look at a branch it just deleted (404: the outcome it waits for), the
    # consumption API's documented refusal for plans it has no data for (403) and the
    # spending limit on plans without spending notifications (422 or 403).
    refused = [
        (record["method"], record["path"], record["status"], record.get("body"))
        for record in client_errors
        if record["method"] != "GET"
        or not (
            (int(record["status"]) == 404 and record["path"] in deleted)
            or (int(record["status"]) == 403 and "/consumption_history/" in record["path"])
            or (
                int(record["status"]) in (403, 422)
                and record["path"].endswith("/billing/spending_limit")
            )
        )
    ]
    assert refused == []
    remaining = {}
    for org in world["organizations"]:
        for project in org["projects"]:
            answer = _get(f"{served.url}/projects/{project['id']}/endpoints")
            remaining.update({endpoint["id"]: endpoint for endpoint in answer["endpoints"]})
    # A read replica idle-read-replicas selects is deleted, or, when another policy asks
    # to change it too (a resize, a timeout), waits for a person: one request cannot both.
    replicas = {
        resource for policy, resource in expected_findings(world, now)
        if policy == "idle-read-replicas"
    }  # fmt: skip
    # a selected compute is there with a smaller floor, or gone (its stale branch or itself)
    for endpoint_id in selected - remaining.keys():
        before = computes[endpoint_id]
        assert any(
            path.endswith((f"/branches/{before['branch_id']}", f"/endpoints/{endpoint_id}"))
            for path in deleted
        )
    assert len(selected & remaining.keys() - replicas) >= 10
    for endpoint in remaining.values():
        if endpoint["id"] in replicas:
            continue
        low = endpoint["autoscaling_limit_min_cu"]
        high = endpoint["autoscaling_limit_max_cu"]
        assert valid_pair(low, high), endpoint["id"]
        before = computes[endpoint["id"]]
        if before["suspend_timeout_seconds"] == -1 and high <= 16:
            # never-suspending-computes' fix went through, on the same PATCH as any resize
            assert endpoint["suspend_timeout_seconds"] == 300, endpoint["id"]
        if endpoint["id"] in selected:
            assert low < before["autoscaling_limit_min_cu"], endpoint["id"]
            # the policy never asks to lower the maximum: the peak is kept
            assert high == before["autoscaling_limit_max_cu"], endpoint["id"]
