"""What the commands say when something is off, and what their tables show (issue 17,
F10 F18 F22 F23 F24 F25 F26 F33 F34), against the simulator over loopback HTTP."""

from __future__ import annotations

import json
import re
import signal
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.report import render_findings
from governor.simulator import SimulatorOptions, World
from governor.store import Store, history
from governor.store import resources as resource_rows
from tests.conftest import WORLD_NOW
from tests.simulator.processes import simulate

runner = CliRunner()
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config.toml"


def world() -> World:
    return World.generate(seed=3, orgs=2, projects=6, branches=40, now=WORLD_NOW)


def fast_config(folder: Path) -> Path:
    config = folder / "fast.toml"
    config.write_text("[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n")
    return config


def invoke(base_url: str, *args: str) -> Any:
    return runner.invoke(
        app, list(args), env={"NEON_API_URL": base_url, "NEON_API_KEY": "sim-personal-key"}
    )


def audit(base_url: str, folder: Path, *args: str) -> Any:
    config = str(fast_config(folder))
    return invoke(base_url, "audit", "--db", str(folder / "g.db"), "--config", config, *args)


@pytest.fixture
def served(served_simulator: Callable[..., Any]) -> tuple[World, str]:
    served_world = world()
    simulator, base_url = served_simulator(served_world, NO_LIMITS)
    return simulator.world, str(base_url)


# F10 ------------------------------------------------------------------------------------


def test_an_org_the_key_cannot_see_is_a_usage_error_listing_the_visible_ones(
    served: tuple[World, str], tmp_path: Path
) -> None:
    served_world, base_url = served
    result = audit(base_url, tmp_path, "--org", "org-does-not-exist-12345678")
    assert result.exit_code == 2, result.stderr  # was 3, "sweep INCOMPLETE", three 404s
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("neon-governor: usage error: organization ")
    assert "'org-does-not-exist-12345678' (--org) not visible to this key; visible: " in lines[0]
    for org in served_world.organizations:
        assert f"{org['id']} ({org['name']})" in lines[0]
    assert "incomplete" not in result.stderr.lower()
    assert result.stdout == ""


def test_an_org_in_the_config_the_key_cannot_see_says_it_came_from_the_config(
    served: tuple[World, str], tmp_path: Path
) -> None:
    _, base_url = served
    config = fast_config(tmp_path)
    config.write_text(config.read_text() + 'organizations = ["org-typo-12345678"]\n')
    db = str(tmp_path / "g.db")
    result = invoke(base_url, "audit", "--db", db, "--config", str(config))
    assert result.exit_code == 2, result.stderr
    assert "'org-typo-12345678' (from the config's organizations) not visible" in result.stderr


def test_a_visible_org_given_by_id_still_sweeps(served: tuple[World, str], tmp_path: Path) -> None:
    served_world, base_url = served
    org_id = served_world.organizations[0]["id"]
    result = audit(base_url, tmp_path, "--org", org_id, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["run"]["complete"] is True
    assert {finding["org_id"] for finding in report["findings"]} <= {org_id, None}


# F22 ------------------------------------------------------------------------------------


def test_an_org_name_in_place_of_an_id_is_one_usage_error_line_pointing_at_inventory(
    tmp_path: Path,
) -> None:
    result = invoke(
        "http://127.0.0.1:1/api/v2",
        "audit",
        "--db",
        str(tmp_path / "g.db"),
        "--org",
        "Gentle Bird Inc",
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # was two lines labelled "config error"
    assert lines[0].startswith("neon-governor: usage error: --org 'Gentle Bird Inc' ")
    assert "`neon-governor inventory`" in lines[0]


# F23 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["audit", "--fail-on", "critical"], "'critical' is not one of 'none', 'low'"),
        (["findings", "--status", "bogus"], "'bogus' is not one of 'open'"),
        (["config", "check", "--format", "yaml"], "'yaml' is not one of 'toml', 'json'"),
    ],
)
def test_a_bad_option_value_is_said_without_pydantic_wording(
    args: list[str], expected: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    flat = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stderr).split())
    assert expected in flat
    assert "Value error" not in flat


# F24 ------------------------------------------------------------------------------------


def test_policies_validate_counts_in_the_singular_and_labels_its_note(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(
        "- name: mine\n  resource: endpoint\n  filters:\n    - suspend_timeout_seconds: -1\n"
    )
    result = runner.invoke(app, ["policies", "validate", str(one)])
    assert result.stdout == "ok: 1 policy in 1 file\n"  # was "1 policies in 1 files"
    shipped = runner.invoke(app, ["policies", "validate"])
    first, *notes = shipped.stdout.splitlines()
    assert re.fullmatch(r"ok: \d+ policies in \d+ files", first)
    assert notes
    assert all(note.startswith("note: API cost: ") for note in notes)


# F25 ------------------------------------------------------------------------------------


def test_findings_for_an_unknown_policy_is_exit_2_with_a_did_you_mean(
    served: tuple[World, str], tmp_path: Path
) -> None:
    _, base_url = served
    assert audit(base_url, tmp_path).exit_code == 1
    db = str(tmp_path / "g.db")
    result = invoke(base_url, "findings", "--db", db, "--policy", "stale-branchs")
    assert result.exit_code == 2  # was "No findings." and exit 0
    assert result.stdout == ""
    assert "did you mean 'stale-branches'" in result.stderr
    assert "known: archived-branches, backup-branches" in result.stderr  # every one, sorted
    assert "never-suspending-computes, no-spending-notification" in result.stderr
    known = invoke(base_url, "findings", "--db", db, "--policy", "stale-branches")
    assert known.exit_code == 0


# F26 ------------------------------------------------------------------------------------


def test_audit_into_a_file_says_what_it_wrote_on_stderr(
    served: tuple[World, str], tmp_path: Path
) -> None:
    _, base_url = served
    target = tmp_path / "out.md"
    result = audit(base_url, tmp_path, "--format", "markdown", "--output", str(target))
    assert result.exit_code == 1
    assert result.stdout == ""
    count = target.read_text().count("\n| ") - target.read_text().count("\n| severity")
    assert result.stderr == f"wrote {target}: {count} findings\n"  # was silent


# F18 ------------------------------------------------------------------------------------


def test_tables_name_projects_and_never_split_or_repeat_ids(
    served: tuple[World, str], tmp_path: Path
) -> None:
    served_world, base_url = served
    names = {pid: state.project["name"] for pid, state in served_world.projects.items()}
    report = json.loads(audit(base_url, tmp_path, "--format", "json").stdout)
    db = str(tmp_path / "g.db")
    table = invoke(base_url, "findings", "--db", db).stdout
    markdown = invoke(base_url, "findings", "--db", db, "--format", "markdown").stdout
    for finding in report["findings"]:
        assert finding["resource_id"] in table  # whole, on one line
        if finding["project_id"]:
            assert names[finding["project_id"]] in table
            assert names[finding["project_id"]] in markdown
    project_ids = {f["project_id"] for f in report["findings"] if f["project_id"]}
    # a finding about a project names it by its id, as every finding names its resource
    project_ids -= {f["resource_id"] for f in report["findings"] if f["resource_type"] == "project"}
    assert not any(project_id in table for project_id in project_ids)  # unique names: no ids
    for finding in report["findings"]:
        if finding["resource_type"] == "endpoint":  # an endpoint's name is its id: once
            rows = [line for line in markdown.splitlines() if finding["resource_id"] in line]
            assert rows
            assert all(row.count(finding["resource_id"]) == 1 for row in rows)


# F33 ------------------------------------------------------------------------------------


def test_config_check_prints_no_empty_table_header_and_stays_toml(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["config", "check", "--config", str(EXAMPLE)], env={"NEON_API_KEY": "k"}
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("[") and not line.startswith("[["):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert following, f"empty table {line}"
            assert not following.startswith("["), f"empty table {line}"
    assert "[prices.plans]" not in lines  # it was an empty header
    tomllib.loads(result.stdout)


def test_config_check_with_a_missing_key_fails_unless_offline(tmp_path: Path) -> None:
    config = tmp_path / "governor.toml"
    config.write_text('[neon]\napi_key_file = "gentle.key"\n')
    env = {"NEON_API_KEY": None, "CREDENTIALS_DIRECTORY": None}
    missing = runner.invoke(app, ["config", "check", "--config", str(config)], env=env)
    assert missing.exit_code == 2  # was 0 with a "(not found)" comment
    assert "# key: file or credential 'gentle.key' (not found)" in missing.stdout
    assert f"looked at {tmp_path / 'gentle.key'}" in missing.stderr
    offline = runner.invoke(app, ["config", "check", "--config", str(config), "--offline"], env=env)
    assert offline.exit_code == 0, offline.stderr
    assert "(not looked for: --offline)" in offline.stdout
    (tmp_path / "gentle.key").write_text("napi_some_key\n")
    found = runner.invoke(app, ["config", "check", "--config", str(config)], env=env)
    assert found.exit_code == 0, found.stderr
    assert "napi_some_key" not in found.stdout + found.stderr


# F34 ------------------------------------------------------------------------------------


def test_the_simulate_banner_names_every_key_it_accepts(tmp_path: Path) -> None:
    dump = tmp_path / "world.json"
    flags = ("--seed", "3", "--orgs", "2", "--projects", "4", "--branches", "9")
    with simulate(*flags, "--dump-world", str(dump)) as (process, _):
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        banner = process.stderr.read()
    served_world = World.load(dump)
    assert "  sim-personal-key  (personal key" in banner
    assert "  sim-project-key  (project key for " in banner
    for org in served_world.organizations:
        assert f"  sim-org-key-{org['id']}  (organization key for {org['id']})" in banner


def test_the_simulate_banner_keeps_a_world_files_own_tokens_to_itself(tmp_path: Path) -> None:
    data = World.generate(seed=2, orgs=1, projects=2, branches=2, now=WORLD_NOW).to_dict()
    data["keys"] = {"someone-elses-token": data["keys"]["sim-personal-key"]}
    path = tmp_path / "world.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with simulate("--world", str(path)) as (process, _):
        process.send_signal(signal.SIGTERM)
        _, banner = process.communicate(timeout=10)
    assert 'API keys: the 1 token under "keys" in the world file' in banner
    assert "someone-elses-token" not in banner


def test_a_narrow_terminal_cuts_no_id(served: tuple[World, str], tmp_path: Path) -> None:
    _, base_url = served
    assert audit(base_url, tmp_path).exit_code == 1
    with Store.open(tmp_path / "g.db", read_only=True) as store:
        rows = store.call(history.findings, status=None)
        names = {
            row.resource_id: row.name or "" for row in store.call(resource_rows.listed, "project")
        }
    for width in (80, 100):
        table = render_findings(rows, "table", width=width, project_names=names)
        assert max(len(line) for line in table.splitlines()) <= width
        for row in rows:
            assert row.resource_id in table  # was split ("shiny-wildflower-5667792" / "4")
