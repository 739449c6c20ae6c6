"""`neon-governor costs` against the simulator: its bill matches the simulator's own
(computed from the same meters by code that shares nothing with the governor's) within 1%
per project and line item; Free shows quota units and $0; storage is refused, not guessed,
when the unit cannot be calibrated."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.simulator import Simulator, SimulatorOptions, World
from tests.conftest import WORLD_NOW

runner = CliRunner()
PERIOD_START = datetime(2026, 11, 1, tzinfo=UTC)
STORAGE = ("root_storage", "child_storage", "instant_restore", "snapshots")


def _world() -> World:
    return World.generate(seed=5, orgs=4, projects=16, branches=120, now=WORLD_NOW)


def _options(**extra: Any) -> SimulatorOptions:
    return SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None, **extra)


def _costs(base_url: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    config = tmp_path / "fast.toml"
    config.write_text(
        "[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n"
        "[consumption]\nrequests_per_minute = 60000\n"
    )
    with mock.patch("governor.commands.costs.utc_now", return_value=WORLD_NOW):
        result = runner.invoke(
            app,
            ["costs", "--db", str(tmp_path / "g.db"), "--config", str(config), *args],
            env={"NEON_API_URL": base_url, "NEON_API_KEY": "sim-personal-key"},
        )
    return result.exit_code, result.stdout, result.stderr


def _json(base_url: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    code, out, err = _costs(base_url, tmp_path, "--format", "json", *args)
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def _orgs_by_plan(simulator: Simulator) -> dict[str, str]:
    return {org["plan"]: org_id for org_id, org in simulator.world.organizations_by_id.items()}


def test_costs_match_the_simulators_bill_within_1_percent_per_project_and_line(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(_world(), _options())
    report = _json(base_url, tmp_path)
    compared = 0
    for org in report["organizations"]:
        if org["kind"] != "measured":
            continue
        assert org["coverage"] == "complete", org["notes"]
        reference = simulator.bill(org["org_id"], PERIOD_START, WORLD_NOW)
        ours = {project["project_id"]: project for project in org["projects"]}
        for expected in reference["projects"]:
            project = ours[expected["project_id"]]
            for line, usd in expected["lines"].items():
                got = project["lines"][line]["so_far_usd"]
                assert got == pytest.approx(usd, rel=0.01, abs=0.005), (
                    org["org_id"], expected["project_id"], line,
                )  # fmt: skip
                compared += 1
    assert compared >= 8 * 8  # several projects of the paid organizations, every line


def test_a_free_organization_shows_quota_units_and_no_dollars(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(_world(), _options())
    free = _orgs_by_plan(simulator)["free"]
    report = _json(base_url, tmp_path, "--org", free)
    [org] = report["organizations"]
    assert org["kind"] == "quota"
    assert org["so_far_usd"] == org["projected_usd"] == 0
    assert any("refused" in note for note in org["notes"])
    compute = org["projects"][0]["lines"]["compute"]
    assert compute["unit"] == "CU-h of 100"


def test_storage_is_refused_not_guessed_when_the_unit_cannot_be_calibrated(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(_world(), _options(storage_unit="inconsistent"))
    scale = _orgs_by_plan(simulator)["scale"]
    report = _json(base_url, tmp_path, "--org", scale)
    [org] = report["organizations"]
    assert org["coverage"] == "partial"
    assert any("ambiguous" in note for note in org["notes"])
    for project in org["projects"]:
        for line in STORAGE:
            assert project["lines"][line]["so_far_usd"] is None
        assert project["lines"]["compute"]["so_far_usd"] is not None


def test_byte_hours_are_calibrated_and_priced_like_byte_months(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(_world(), _options(storage_unit="byte_hours"))
    scale = _orgs_by_plan(simulator)["scale"]
    report = _json(base_url, tmp_path, "--org", scale)
    [org] = report["organizations"]
    reference = simulator.bill(scale, PERIOD_START, WORLD_NOW)
    assert org["coverage"] == "complete", org["notes"]
    ours = sum(p["lines"]["root_storage"]["so_far_usd"] for p in org["projects"])
    assert ours == pytest.approx(reference["lines"]["root_storage"], rel=0.01)


def test_no_refresh_prices_the_store_and_by_line_lists_every_line(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(_world(), _options())
    scale = _orgs_by_plan(simulator)["scale"]
    fresh = _json(base_url, tmp_path, "--org", scale)
    code, out, err = _costs(
        "http://127.0.0.1:9/unreachable", tmp_path, "--no-refresh", "--org", scale,
        "--by", "line", "--format", "csv",
    )  # fmt: skip
    assert code == 0, err
    rows = out.splitlines()
    assert rows[0].startswith("organization,project,line,")
    assert len(rows) - 1 == 8 * len(fresh["organizations"][0]["projects"])


def test_table_output_names_the_rate_card_date_and_the_exclusions(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(_world(), _options())
    code, out, _ = _costs(base_url, tmp_path, "--org", _orgs_by_plan(simulator)["launch"])
    assert code == 0
    assert "rate card of 20" in out
    assert "excluded: credits, taxes" in out


def test_an_unknown_project_is_a_one_line_usage_error(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(_world(), _options())
    code, _, err = _costs(base_url, tmp_path, "--project", "no-such-project")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "--project no-such-project" in err


def test_no_refresh_on_an_empty_store_says_what_to_run(tmp_path: Path) -> None:
    code, _, err = _costs("http://127.0.0.1:9/unreachable", tmp_path, "--no-refresh")
    assert code == 2
    assert "neon-governor audit" in err
