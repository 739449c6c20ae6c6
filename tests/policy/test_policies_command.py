"""`neon-governor policies validate` and `policies schema`, through the real CLI app."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from governor.cli import app
from governor.policy import shipped_policies_path

GOOD = """\
- name: mine
  resource: endpoint
  filters: [{suspend_timeout_seconds: -1}]
"""
BAD = """\
- name: broken
  resource: endpoint
  filters: [{suspend_timeout_second: -1}]
  action: {type: delete}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_without_paths_checks_the_shipped_policies(runner: CliRunner) -> None:
    result = runner.invoke(app, ["policies", "validate"])
    assert result.exit_code == 0, result.output
    shipped = len(list(shipped_policies_path().glob("*.yaml")))
    assert result.stdout.splitlines() == [
        f"ok: {shipped} policies in {shipped} files",
        # the one shipped policy whose estimate needs a field only the project detail has
        "note: API cost: project detail (GET /projects/{project_id}) read for "
        "oversized-computes: its resize estimate reads the project's "
        "consumption_period_start; read for projects with a compute it selects",
    ]


def test_validate_reports_every_problem_on_stderr_and_exits_2(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    result = runner.invoke(app, ["policies", "validate", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2
    assert result.stdout == ""
    file = tmp_path / "bad.yaml"
    assert result.stderr.splitlines() == [
        f"{file}:3:14: [0].filters[0].suspend_timeout_second: unknown field "
        "'suspend_timeout_second' for an endpoint; did you mean 'suspend_timeout_seconds'?",
        f"{file}:4:18: [0].action.type: action delete does not fit resource endpoint; "
        "it applies to: branch",
        "2 problems found",
    ]


def test_validate_takes_files_and_folders(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "one.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "folder" / "two.yml").write_text(GOOD.replace("mine", "theirs"), encoding="utf-8")
    (tmp_path / "three.yaml").write_text(GOOD.replace("mine", "third"), encoding="utf-8")
    result = runner.invoke(
        app, ["policies", "validate", str(tmp_path / "folder"), str(tmp_path / "three.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 3 policies in 3 files\n"


def test_validate_uses_the_config_paths_relative_to_the_config_file_and_counts_in_singular(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "policies.yaml").write_text(GOOD, encoding="utf-8")
    config = tmp_path / "governor.toml"
    config.write_text('[policies]\npaths = ["mine"]\n', encoding="utf-8")
    result = runner.invoke(app, ["policies", "validate", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: 1 policy in 1 file\n"


def test_validate_paths_on_the_command_line_win_over_the_config(
    runner: CliRunner, tmp_path: Path
) -> None:
    config = tmp_path / "governor.toml"
    config.write_text('[policies]\npaths = ["missing"]\n', encoding="utf-8")
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    result = runner.invoke(
        app, ["policies", "validate", "--config", str(config), str(tmp_path / "good.yaml")]
    )
    assert result.exit_code == 0, result.output


def test_validate_reports_missing_configured_paths(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "governor.toml"
    config.write_text('[policies]\npaths = ["missing"]\n', encoding="utf-8")
    result = runner.invoke(app, ["policies", "validate", "--config", str(config)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'missing'}: no such file or folder" in result.stderr


@pytest.mark.parametrize("command", ["validate", "schema"])
def test_a_bad_config_exits_2_with_its_error(
    runner: CliRunner, tmp_path: Path, command: str
) -> None:
    config = tmp_path / "governor.toml"
    config.write_text("[policies]\npath = []\n", encoding="utf-8")
    result = runner.invoke(app, ["policies", command, "--config", str(config)])
    assert result.exit_code == 2
    assert f"{config}:2: [policies.path]" in result.stderr
    assert result.stdout == ""


def test_schema_prints_a_json_schema_the_shipped_files_satisfy(runner: CliRunner) -> None:
    result = runner.invoke(app, ["policies", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(shipped_policies_path().glob("*.yaml")):
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
        assert errors == [], path


@pytest.mark.parametrize(
    "document",
    [
        [{"name": "x", "resource": "branch", "filters": [{"a": 1}], "colour": "red"}],
        [{"name": "x", "resource": "cluster", "filters": [{"a": 1}]}],
        [{"name": "x", "resource": "branch", "filters": [{"a": {"older": "3d"}}]}],
        [{"name": "x", "resource": "branch", "filters": [{"a": {"older_than": "3 days"}}]}],
        [{"name": "x", "resource": "branch", "filters": [], "action": {"type": "delete"}}],
        [{"name": "x", "resource": "branch", "filters": {"a": 1}, "action": {"type": "nuke"}}],
        [],
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(document: object) -> None:
    from governor.policy import policy_file_schema

    validator = jsonschema.Draft202012Validator(policy_file_schema())
    assert not validator.is_valid(document)


def test_the_schema_describes_the_derived_fields() -> None:
    from governor.policy import policy_file_schema

    description = policy_file_schema()["$defs"]["Condition"]["description"]
    for field in ("last_activity", "has_children", "compute_count", "branch_default", "scope"):
        assert field in description
