"""`neon-governor simulate` as a subprocess: the LISTENING line, serving, clean exits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from governor.simulator import World
from tests.simulator.processes import simulate
from tests.simulator.worlds import PERSONAL_TOKEN, TINY_PROJECT_ID, tiny_world_data


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_it_prints_listening_serves_and_exits_zero_on_a_signal(
    tmp_path: Path, stop: signal.Signals
) -> None:
    dump = tmp_path / "world.json"
    flags = ("--seed", "3", "--orgs", "1", "--projects", "4", "--branches", "9")
    with simulate(*flags, "--dump-world", str(dump)) as (process, base_url):
        world = World.load(dump)
        org_id = world.organizations[0]["id"]
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            answer = client.get(
                "/projects", headers={"Authorization": f"Bearer sim-org-key-{org_id}"}
            )
        assert answer.status_code == 200
        assert [p["id"] for p in answer.json()["projects"]] == list(world.projects)
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0


def test_it_serves_a_world_file_with_the_given_limits(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(
        json.dumps(World.generate(seed=2, orgs=1, projects=2, branches=2).to_dict()),
        encoding="utf-8",
    )
    with simulate("--world", str(path), "--rpm", "2") as (process, base_url):
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            headers = {"Authorization": "Bearer sim-personal-key"}
            statuses = [client.get("/api_keys", headers=headers).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        process.terminate()
        assert process.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--latency-ms", "5:x"], "--latency-ms expects MIN:MAX"),
        (["--op-seconds", "3:1"], "--op-seconds expects 0 <= MIN <= MAX"),
        (["--fail-500", "1.5"], "fail_500 must be a fraction"),
        (["--world", "/nonexistent/world.json"], "cannot read world file"),
        (["--world", "{bad}", "--orgs", "2"], "--world cannot be combined with --orgs"),
        (["--projects", "5", "--branches", "2"], "every project has a default branch"),
        (["--rpm", "0"], "--rpm"),
        (["--op-retry", "1.5"], "operation_retry_fraction must be a fraction"),
        (["--op-retry-seconds", "0"], "operation_retry_seconds must be positive"),
        (["--request-log", "/nonexistent/dir/requests.jsonl"], "cannot write"),
    ],
)
def test_bad_flags_exit_2_with_a_clear_message(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    flags = [str(tmp_path / "w.json") if flag == "{bad}" else flag for flag in flags]
    result = subprocess.run(
        [sys.executable, "-m", "governor", "simulate", *flags],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "LISTENING" not in result.stdout


def test_a_bad_world_file_names_the_json_path(tmp_path: Path) -> None:
    data = World.generate(seed=2, orgs=1, projects=1, branches=2).to_dict()
    data["organizations"][0]["projects"][0]["branches"][1]["parent_id"] = "br-missing"
    path = tmp_path / "world.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "governor", "simulate", "--world", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "organizations[0].projects[0].branches[1].parent_id" in result.stderr


def test_it_reports_what_the_server_saw_on_exit() -> None:
    flags = ("--orgs", "1", "--projects", "2", "--branches", "2", "--rps-per-route", "2")
    with simulate(*flags) as (process, base_url):
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            headers = {"Authorization": "Bearer sim-personal-key"}
            for _ in range(3):
                client.get("/api_keys", headers=headers)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    stats = json.loads(stderr.strip().splitlines()[-1].removeprefix("STATS "))
    assert stats["requests"] == 3
    assert stats["statuses"] == {"200": 2, "429": 1}
    assert stats["keys"]["personal"]["max_per_1s_per_route"] == 3
    # the banner names a generated world's keys (F34); what the server saw never does
    assert "sim-personal-key" not in stderr.strip().splitlines()[-1]


def test_the_stats_line_counts_wake_ups_of_idle_computes(tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    world.write_text(json.dumps(tiny_world_data()), encoding="utf-8")
    # Zero-length operations: the wake-up happens within the PATCH itself.
    with simulate("--world", str(world), "--op-seconds", "0") as (process, base_url):
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            answer = client.patch(
                f"/projects/{TINY_PROJECT_ID}/endpoints/ep-main-1",
                json={"endpoint": {"suspend_timeout_seconds": 300}},
                headers={"Authorization": f"Bearer {PERSONAL_TOKEN}"},
            )
        assert answer.status_code == 200
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    stats = json.loads(stderr.strip().splitlines()[-1].removeprefix("STATS "))
    assert (stats["wake_ups"], stats["wake_ups_by_endpoint"]) == (1, {"ep-main-1": 1})


def test_it_can_report_projects_as_unavailable() -> None:
    flags = ("--seed", "4", "--orgs", "1", "--projects", "3", "--branches", "3")
    with simulate(*flags, "--dump-world", "/dev/null") as (process, base_url):
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            headers = {"Authorization": "Bearer sim-project-key"}
            project_id = client.get("/projects", headers=headers).json()["projects"][0]["id"]
        process.terminate()
        process.wait(timeout=10)
    with simulate(*flags, "--unavailable-project", project_id) as (process, base_url):
        with httpx.Client(base_url=base_url, timeout=10.0) as client:
            page = client.get("/projects", headers=headers).json()
        assert page["projects"] == []
        assert page["unavailable_project_ids"] == [project_id]
        process.terminate()
        process.wait(timeout=10)
