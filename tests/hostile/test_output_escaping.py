"""Names from the API never reach a terminal as control sequences or a spreadsheet as a
formula, and never break the table renderer (issue: hostile input, class 6)."""

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
from governor.simulator import World
from tests.simulator.worlds import PERSONAL_TOKEN, tiny_world_data

runner = CliRunner()
HOSTILE_NAME = '=HYPERLINK("http://evil.example")\x1b]0;pwned\x07\x1b[2J[/]\u202e'


def hostile_world() -> World:
    data = tiny_world_data()
    tiny = data["organizations"][0]["projects"][0]
    for branch in tiny["branches"]:
        if branch["name"] == "preview/pr-7":  # a stale child branch: selected
            branch["name"] = HOSTILE_NAME
    return World.from_dict(data)


def audit(base_url: str, tmp_path: Path, output_format: str) -> str:
    config = tmp_path / "fast.toml"
    config.write_text("[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n")
    result = runner.invoke(
        app,
        [
            "audit",
            "--db",
            str(tmp_path / "g.db"),
            "--config",
            str(config),
            "--format",
            output_format,
        ],
        env={"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN},
    )
    assert result.exit_code == 1, result.stderr
    return result.stdout


@pytest.mark.parametrize("output_format", ["table", "markdown", "csv"])
def test_no_control_character_from_a_name_reaches_the_output(
    output_format: str, served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(hostile_world())
    out = audit(base_url, tmp_path, output_format)
    assert "HYPERLINK" in out
    assert "\\x1b" in out  # shown, escaped (a table may fold the rest of the name)
    assert not any(character in out for character in "\x1b\x07\u202e")


def test_a_csv_cell_that_looks_like_a_formula_is_text(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(hostile_world())
    rows = list(csv.DictReader(io.StringIO(audit(base_url, tmp_path, "csv"))))
    (hostile,) = [row for row in rows if "HYPERLINK" in row["name"]]
    assert hostile["name"].startswith("'=HYPERLINK")
    assert all(not value.startswith(("=", "+", "@")) for row in rows for value in row.values())


def test_json_keeps_the_name_exactly_as_the_api_sent_it(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(hostile_world())
    report = json.loads(audit(base_url, tmp_path, "json"))
    assert HOSTILE_NAME in {finding["name"] for finding in report["findings"]}
