"""The audit command over real loopback HTTP: exit codes, the JSON contract, re-runs,
resolution, incomplete sweeps, the other output formats, and the findings command."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.simulator import SimulatorOptions, World
from tests.conftest import WORLD_NOW

runner = CliRunner()
FINDING_KEYS = {
    "policy",
    "resource_type",
    "resource_id",
    "org_id",
    "project_id",
    "name",
    "severity",
    "summary",
    "action",
    "estimated_monthly_savings_usd",
    "first_seen",
    "last_seen",
    "status",
}
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


def _world(seed: int = 3) -> World:
    return World.generate(seed=seed, orgs=2, projects=6, branches=40, now=WORLD_NOW)


def _fast_config(folder: Path, extra: str = "") -> Path:
    """The simulator here has no limits; pacing at Neon's 700/min would only slow tests."""
    config = folder / "fast.toml"
    config.write_text(
        "[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n" + extra
    )
    return config


def _audit(base_url: str, db: Path, *args: str) -> tuple[int, str, str]:
    if "--config" not in args:
        args = (*args, "--config", str(_fast_config(db.parent)))
    result = runner.invoke(
        app,
        ["audit", "--db", str(db), *args],
        env={"NEON_API_URL": base_url, "NEON_API_KEY": "sim-personal-key"},
    )
    return result.exit_code, result.stdout, result.stderr


def _json_audit(base_url: str, db: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = _audit(base_url, db, "--format", "json", *args)
    assert out, err
    return code, json.loads(out)


def test_audit_with_findings_exits_1_and_prints_the_json_contract(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(_world(), NO_LIMITS)
    code, report = _json_audit(base_url, tmp_path / "g.db")
    assert code == 1
    assert {"id", "started_at", "finished_at", "complete", "requests"} <= report["run"].keys()
    assert report["run"]["complete"] is True
    assert report["run"]["requests"] > 0
    assert report["findings"], "a generated world always has waste"
    for finding in report["findings"]:
        assert finding.keys() >= FINDING_KEYS
        assert isinstance(finding["resource_id"], str)
        assert finding["status"] == "open"
        assert finding["first_seen"] == finding["last_seen"]
    assert report["summary"]["findings"] == len(report["findings"])
    total = round(sum(f["estimated_monthly_savings_usd"] for f in report["findings"]), 2)
    # a cost two findings share (an idle project's branches, a stale branch) counts once
    left_out = report["summary"]["counted_once"]["not_counted_again_usd"]
    assert report["summary"]["estimated_monthly_savings_usd"] == pytest.approx(
        total - left_out, abs=0.011
    )
    key_ids = {f["resource_id"] for f in report["findings"] if f["resource_type"] == "api_key"}
    assert all(key_id.isdigit() for key_id in key_ids)


def test_fail_on_decides_the_exit_code(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(_world(), NO_LIMITS)
    code, report = _json_audit(base_url, tmp_path / "g.db", "--fail-on", "none")
    assert code == 0
    assert report["findings"], "none never fails, even with findings"
    code, report = _json_audit(base_url, tmp_path / "g.db", "--fail-on", "high")
    has_high = any(f["severity"] == "high" for f in report["findings"])
    assert code == (1 if has_high else 0)


def test_a_clean_account_exits_0(served_simulator: Callable[..., Any], tmp_path: Path) -> None:
    _, base_url = served_simulator(_world(), NO_LIMITS)
    policy = tmp_path / "nothing.yaml"
    policy.write_text(
        "- name: huge-computes\n  resource: endpoint\n  filters:\n"
        "    - autoscaling_limit_min_cu: {gt: 1000}\n"
    )
    code, report = _json_audit(base_url, tmp_path / "g.db", "--policies", str(policy))
    assert code == 0
    assert report["findings"] == []


def test_rerun_keeps_first_seen_and_resolves_what_was_fixed(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    world = _world()
    _, base_url = served_simulator(world, NO_LIMITS)
    db = tmp_path / "g.db"
    _, first = _json_audit(base_url, db)
    never_suspending = next(
        f for f in first["findings"] if f["policy"] == "never-suspending-computes"
    )

    fixed = world.to_dict()
    for org in fixed["organizations"]:
        for project in org["projects"]:
            for endpoint in project["endpoints"]:
                if endpoint["id"] == never_suspending["resource_id"]:
                    endpoint["suspend_timeout_seconds"] = 300
    _, base_url = served_simulator(World.from_dict(fixed), NO_LIMITS)
    _, second = _json_audit(base_url, db)

    seen_first = {(f["policy"], f["resource_id"]): f["first_seen"] for f in first["findings"]}
    seen_second = {(f["policy"], f["resource_id"]): f["first_seen"] for f in second["findings"]}
    key = ("never-suspending-computes", never_suspending["resource_id"])
    assert key not in seen_second
    assert {(f["policy"], f["resource_id"]) for f in second["resolved"]} >= {key}
    for finding_key, first_seen in seen_second.items():
        if finding_key in seen_first:
            assert first_seen == seen_first[finding_key]
    assert set(seen_second) - set(seen_first) == set()


def test_an_incomplete_sweep_exits_3_and_resolves_nothing_it_could_not_read(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    world = _world()
    _, base_url = served_simulator(world, NO_LIMITS)
    db = tmp_path / "g.db"
    _, first = _json_audit(base_url, db)
    hidden = next(f["project_id"] for f in first["findings"] if f["resource_type"] == "branch")
    in_hidden = {
        (f["policy"], f["resource_id"]) for f in first["findings"] if f["project_id"] == hidden
    }

    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        unavailable_project_ids=frozenset({hidden}),
        unreadable_project_ids=frozenset({hidden}),
    )
    _, base_url = served_simulator(World.from_dict(world.to_dict()), options)
    config = _fast_config(tmp_path, "max_attempts = 2\nbackoff_cap_seconds = 0.2\n")
    code, out, err = _audit(base_url, db, "--format", "json", "--config", str(config))
    assert code == 3
    assert "incomplete" in err
    second = json.loads(out)
    assert second["run"]["complete"] is False
    assert any(part["project_id"] == hidden for part in second["incomplete"])
    assert not {(f["policy"], f["resource_id"]) for f in second["resolved"]} & in_hidden

    listed = runner.invoke(app, ["findings", "--db", str(db), "--format", "json"])
    still_open = {(f["policy"], f["resource_id"]) for f in json.loads(listed.stdout)["findings"]}
    assert in_hidden <= still_open


def test_csv_and_markdown_list_every_finding(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(_world(), NO_LIMITS)
    db = tmp_path / "g.db"
    _, report = _json_audit(base_url, db)
    ids = {f["resource_id"] for f in report["findings"]}

    _, out, _ = _audit(base_url, db, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["resource_id"] for row in rows} == ids
    assert all(json.loads(row["action"])["type"] for row in rows)

    _, out, _ = _audit(base_url, db, "--format", "markdown")
    assert out.startswith("# neon-governor audit")
    assert all(resource_id in out for resource_id in ids)


def test_output_file_gets_the_report_and_stdout_stays_empty(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(_world(), NO_LIMITS)
    target = tmp_path / "report.json"
    code, out, _ = _audit(base_url, tmp_path / "g.db", "--format", "json", "--output", str(target))
    assert code == 1
    assert out == ""
    assert json.loads(target.read_text())["findings"]


def test_findings_command_filters_by_status_and_policy(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(_world(), NO_LIMITS)
    db = tmp_path / "g.db"
    _, report = _json_audit(base_url, db)
    result = runner.invoke(
        app, ["findings", "--db", str(db), "--policy", "stale-branches", "--format", "json"]
    )
    assert result.exit_code == 0
    listed = json.loads(result.stdout)["findings"]
    expected = {f["resource_id"] for f in report["findings"] if f["policy"] == "stale-branches"}
    assert {f["resource_id"] for f in listed} == expected
    resolved = runner.invoke(app, ["findings", "--db", str(db), "--status", "resolved"])
    assert resolved.exit_code == 0
    assert "No findings." in resolved.stdout


def test_findings_without_a_store_says_how_to_make_one(tmp_path: Path) -> None:
    result = runner.invoke(app, ["findings", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "run `neon-governor audit` first" in result.stderr


def test_a_config_error_exits_2_naming_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "governor.toml"
    config.write_text("[neon]\napi_url = 'http://127.0.0.1:9'\nrequests_per_minit = 5\n")
    result = runner.invoke(app, ["audit", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config}:3" in result.stderr
    assert "neon.requests_per_minit" in result.stderr


def test_a_missing_api_key_exits_2_naming_where_it_looked(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "--db", str(tmp_path / "g.db")], env={"NEON_API_KEY": ""})
    assert result.exit_code == 2
    assert "NEON_API_KEY" in result.stderr


def test_demo_shows_a_real_report(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "--projects", "4", "--branches", "20", "--db", str(tmp_path / "d.db")]
    )
    assert result.exit_code == 0, result.stderr
    assert "Total:" in result.stdout
    assert "What to try next" in result.stderr
    assert (tmp_path / "d.db").exists()


SECRET = "napi_q8Zr4TjW2xLmV7cN0pKs"  # looks like a real Neon key; must never be echoed


def test_the_api_key_never_reaches_output_logs_or_the_store(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    data = _world().to_dict()
    data["keys"] = {SECRET: {"kind": "personal"}}
    _, base_url = served_simulator(World.from_dict(data), NO_LIMITS)
    db = tmp_path / "g.db"
    config = _fast_config(tmp_path)
    env = {"NEON_API_URL": base_url, "NEON_API_KEY": SECRET}

    ok = runner.invoke(app, ["audit", "--db", str(db), "--config", str(config)], env=env)
    refused = runner.invoke(
        app,
        ["audit", "--db", str(db), "--config", str(config)],
        env={**env, "NEON_API_KEY": SECRET + "x"},
    )

    assert ok.exit_code == 1
    assert refused.exit_code == 2
    assert "401" in refused.stderr or "rejected" in refused.stderr.lower()
    for result in (ok, refused):
        assert SECRET not in result.stdout
        assert SECRET not in result.stderr
    for path in tmp_path.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path
