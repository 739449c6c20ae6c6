"""``neon-governor digest``: a dry run prints and records nothing; setup errors are exit 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from governor.cli import app
from governor.store import Store
from governor.store import digests as digest_rows
from tests.digest.factories import audit
from tests.store.factories import at

OWNERS = """
[owners]
default = "platform"
[[owners.owner]]
name = "web"
[[owners.owner]]
name = "platform"
"""


def setup(tmp_path: Path, owners: str = OWNERS) -> Path:
    db = tmp_path / "governor.db"
    with Store.open(db) as store:
        audit(store, at(0), {"br-web-1": "web", "br-orphan-1": None})
    config = tmp_path / "governor.toml"
    config.write_text(f'[store]\npath = "{db}"\n{owners}')
    return config


def invoke(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["digest", "--config", str(config), *args])
    return result.exit_code, result.output


def test_a_dry_run_prints_each_owners_digest_and_records_nothing(tmp_path: Path) -> None:
    config = setup(tmp_path)
    code, output = invoke(config, "--dry-run")
    assert code == 0, output
    assert "web: would send" in output
    assert "platform: would send" in output
    web, platform = output.split("platform: would send")
    assert "br-web-1" in web
    assert "br-orphan-1" not in web
    assert "br-orphan-1" in platform  # nobody's: the default owner's
    with Store.open(tmp_path / "governor.db") as store:
        assert store.call(digest_rows.listed) == []


def test_a_second_digest_run_with_nothing_new_sends_nothing(tmp_path: Path) -> None:
    config = setup(tmp_path)
    code, output = invoke(config, "--owner", "web")
    assert (code, output.splitlines()[-1]) == (0, "1 sent")
    code, output = invoke(config, "--owner", "web")
    assert (code, output.splitlines()[-1]) == (0, "1 nothing new")


def test_an_unknown_owner_is_a_usage_error_naming_the_known_ones(tmp_path: Path) -> None:
    code, output = invoke(setup(tmp_path), "--owner", "nobody")
    assert code == 2
    assert "--owner nobody: no such owner in [owners] (known: web, platform)" in output


def test_digest_without_owners_is_a_usage_error(tmp_path: Path) -> None:
    code, output = invoke(setup(tmp_path, owners=""), "--dry-run")
    assert code == 2
    assert "no owners set up" in output
