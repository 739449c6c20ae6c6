"""What a newcomer meets first: ``--help`` and ``demo``."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from governor.cli import app

runner = CliRunner()
SMALL = ["--orgs", "1", "--projects", "2", "--branches", "6"]


@pytest.mark.parametrize("command", [[], ["run"], ["audit"], ["plan"], ["demo"]])
def test_flags_show_no_bool_metavar_in_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "--help" in result.output


def test_help_still_shows_the_type_of_an_option_that_takes_a_value() -> None:
    result = runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "120"})
    assert "<path>" in result.output  # --config


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("NEON_GOVERNOR_DEMO_KEY", "")  # demo sets it; restored afterwards
    return folder


def test_demo_leaves_no_temporary_folder_behind(temp_dir: Path) -> None:
    result = runner.invoke(app, ["demo", *SMALL])
    assert result.exit_code == 0, result.stderr
    assert list(temp_dir.glob("neon-governor-demo-*")) == []
    assert "demo --keep" in result.stderr  # how to keep it, instead of a path now gone


def test_demo_keep_keeps_the_store_and_points_at_it(temp_dir: Path) -> None:
    result = runner.invoke(app, ["demo", *SMALL, "--keep"])
    assert result.exit_code == 0, result.stderr
    [kept] = temp_dir.glob("neon-governor-demo-*")
    assert (kept / "governor.db").is_file()
    assert f"findings --db {kept / 'governor.db'}" in result.stderr


def test_demo_suggests_commands_that_exist_outside_a_checkout(temp_dir: Path) -> None:
    result = runner.invoke(app, ["demo", *SMALL])
    assert "policies validate policies/" not in result.stderr
    assert " doctor " in result.stderr
    assert " plan --db governor.db" in result.stderr


def test_demo_shows_the_accounts_bill_and_what_the_findings_would_save_of_it(
    temp_dir: Path,
) -> None:
    result = runner.invoke(app, ["demo", *SMALL], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.stderr
    assert "Neon costs this billing period" in result.stdout
    assert "rate card of" in result.stdout  # the bill says which prices it used
    share = re.search(
        r"The findings would save \$([\d,.]+)/month \(counted once\) of a bill projected at "
        r"\$([\d,.]+) this billing period \((\d+)%\)",
        result.stdout,
    )
    assert share is not None, result.stdout
    total = re.search(r"estimated savings \$([\d,.]+)/month", result.stdout)
    assert total is not None
    assert total.group(1) == share.group(1)
    assert float(share.group(2).replace(",", "")) > 0


def _shipped_policy_names() -> set[str]:
    folder = Path(__file__).resolve().parents[2] / "policies"
    return {
        policy["name"]
        for path in folder.glob("*.yaml")
        for policy in yaml.safe_load(path.read_text(encoding="utf-8"))
    }


# Shipped policies the default demo world cannot show yet: the generator makes a project
# idle only when it has a single branch (none of the default world's 24 has), and neither
# of its two organizations fits another plan (the Scale one uses Scale-only timeouts and
# computes above 16 CU; the Launch one has computes above Free's 2 CU). Remove a name when
# the generator gains such a case: the test then fails until it is removed.
NOT_IN_THE_DEMO_WORLD = frozenset({"idle-projects", "plan-fit"})


def test_demo_shows_a_finding_of_every_shipped_policy(temp_dir: Path) -> None:
    """``make demo`` is where a newcomer meets the levers: each shipped policy selects
    something in the simulated account (issue 18: the demo shows the new levers)."""
    result = runner.invoke(app, ["demo", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    shown = {finding["policy"] for finding in report["findings"]}
    assert shown == _shipped_policy_names() - NOT_IN_THE_DEMO_WORLD
