"""`neon-governor inventory` as a user runs it: subprocesses against `neon-governor simulate`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.simulator import SimulatorOptions, World
from governor.simulator.reads import project_list_item
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import SECRET_KEY
from tests.neon.world_facts import WorldFacts, by_id, facts_of

CLI = [sys.executable, "-m", "governor"]
JSON_KEYS = {
    "complete",
    "requests",
    "minimum_requests",
    "organizations",
    "projects",
    "branches",
    "endpoints",
    "api_keys",
    "incomplete",
}


class Served:
    def __init__(self, url: str, facts: WorldFacts, fast_config: Path) -> None:
        self.url = url
        self.facts = facts
        # The default 700 requests/minute would make every run here take seconds.
        self.fast_config = str(fast_config)


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("world")
    world_file = folder / "world.json"
    fast_config = folder / "fast.toml"
    fast_config.write_text("[neon]\nrequests_per_minute = 6000\n")
    process = subprocess.Popen(
        [
            *CLI,
            "simulate",
            "--seed",
            "3",
            "--orgs",
            "2",
            "--projects",
            "6",
            "--branches",
            "30",
            "--no-rate-limits",
            "--port",
            "0",
            "--dump-world",
            str(world_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("LISTENING "), line
        facts = facts_of(json.loads(world_file.read_text()))
        yield Served(line.split(" ", 1)[1], facts, fast_config)
    finally:
        process.terminate()
        process.wait(timeout=10)


def inventory(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("NEON_")}
    return subprocess.run(
        [*CLI, "inventory", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
        check=False,
    )


def test_json_output_is_the_snapshot_contract_with_the_world_objects(simulator: Served) -> None:
    done = inventory(
        "--format",
        "json",
        "--config",
        simulator.fast_config,
        env={"NEON_API_URL": simulator.url, "NEON_API_KEY": "sim-personal-key"},
    )

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert set(document) >= JSON_KEYS
    assert document["complete"] is True
    assert document["incomplete"] == []
    facts = simulator.facts
    # inventory loads no policy, so no project detail: 2 org listings, 2 org key lists,
    # personal keys, one project page per org and two lists per project.
    assert document["requests"] == document["minimum_requests"] == 1 + 1 + 2 * 2 + 2 * 6
    assert by_id(document["organizations"]) == by_id(facts.organizations)
    assert by_id(document["projects"]) == by_id(
        [project_list_item(project) for project in facts.projects]
    )
    assert by_id(document["branches"]) == by_id(facts.branches)
    assert by_id(document["endpoints"]) == by_id(facts.endpoints)
    org_keys = [key for keys in facts.org_api_keys.values() for key in keys]
    assert len(document["api_keys"]) == len(facts.personal_api_keys) + len(org_keys)


def test_org_flag_limits_the_sweep(simulator: Served) -> None:
    org_id = simulator.facts.organizations[1]["id"]

    done = inventory(
        "--format",
        "json",
        "--org",
        org_id,
        "--config",
        simulator.fast_config,
        env={"NEON_API_URL": simulator.url, "NEON_API_KEY": "sim-personal-key"},
    )

    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert {project["org_id"] for project in document["projects"]} == {org_id}
    assert [org["id"] for org in document["organizations"]] == [org_id]


def test_table_output_lists_organizations_and_projects(simulator: Served) -> None:
    done = inventory(
        "--config",
        simulator.fast_config,
        env={"NEON_API_URL": simulator.url, "NEON_API_KEY": "sim-personal-key"},
    )

    assert done.returncode == 0, done.stderr
    for project in simulator.facts.projects:
        assert project["id"] in done.stdout
    assert simulator.facts.organizations[0]["name"] in done.stdout


def test_a_key_file_from_the_config_is_used(simulator: Served, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("sim-personal-key\n")
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[neon]\napi_url = "{simulator.url}"\napi_key_file = "{key_file}"\n'
        "requests_per_minute = 6000\n"
    )

    done = inventory("--format", "json", "--config", str(config), env={})

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["complete"] is True


def test_a_missing_key_exits_2_naming_the_variable(simulator: Served) -> None:
    done = inventory(env={"NEON_API_URL": simulator.url})

    assert done.returncode == 2
    assert "NEON_API_KEY" in done.stderr
    assert done.stdout == ""


def test_a_refused_key_exits_2_without_showing_it(simulator: Served) -> None:
    done = inventory(env={"NEON_API_URL": simulator.url, "NEON_API_KEY": SECRET_KEY})

    assert done.returncode == 2
    assert "401" in done.stderr
    assert SECRET_KEY not in done.stderr + done.stdout


def test_a_bad_config_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "governor.toml"
    config.write_text("[neon]\nrequests_per_minut = 10\n")

    done = inventory("--config", str(config), env={"NEON_API_KEY": "x"})

    assert done.returncode == 2
    assert str(config) in done.stderr
    assert "requests_per_minut" in done.stderr


def test_an_incomplete_sweep_exits_3_and_says_what_and_why(
    served_simulator: Callable[..., ServedSimulator], tmp_path: Path
) -> None:
    world = World.generate(seed=1, orgs=1, projects=3, branches=10, now=WORLD_NOW)
    broken = facts_of(world.to_dict()).projects[0]["id"]
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        unreadable_project_ids=frozenset({broken}),
    )
    _, base_url = served_simulator(world, options)
    config = tmp_path / "one-try.toml"
    config.write_text(
        "[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n"
        "max_attempts = 1\n"
    )

    result = CliRunner().invoke(
        app,
        ["inventory", "--format", "json", "--config", str(config)],
        env={"NEON_API_URL": base_url, "NEON_API_KEY": "sim-personal-key"},
    )

    document: dict[str, Any] = json.loads(result.stdout)
    assert result.exit_code == 3
    assert document["complete"] is False
    assert {part["project_id"] for part in document["incomplete"]} == {broken}
    assert "incomplete" in result.stderr
    assert broken in result.stderr
    assert "HTTP 503" in result.stderr
