"""`config check` prints [owners] (and any list of tables) as TOML that reads back."""

from __future__ import annotations

import tomllib
from pathlib import Path

from typer.testing import CliRunner

from governor.cli import app

CONFIG = """\
[owners]
default = "web"

[[owners.owner]]
name = "web"
emails = ["web@example.com"]

[[owners.rule]]
owner = "web"
annotations = { "vercel-commit-ref" = "feat/*" }
"""


def test_config_check_prints_owners_as_toml_that_reads_back(tmp_path: Path) -> None:
    config = tmp_path / "governor.toml"
    config.write_text(CONFIG, encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "check", "--offline", "--config", str(config)])
    assert result.exit_code == 0, result.output
    printed = tomllib.loads(result.stdout)
    assert printed["owners"]["default"] == "web"
    assert printed["owners"]["owner"][0]["name"] == "web"
    assert printed["owners"]["owner"][0]["emails"] == ["web@example.com"]
    assert printed["owners"]["rule"][0]["annotations"] == {"vercel-commit-ref": "feat/*"}
    assert "[[owners.owner]]" in result.stdout
