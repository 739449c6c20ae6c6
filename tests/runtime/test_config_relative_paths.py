"""One rule for paths in the config (F11): every relative path starts at the config file's
folder, messages show absolute paths, and the store's folder is made when missing.

Before: ``[policies] paths`` were config-relative while ``[store] path`` and
``api_key_file`` followed the working folder, and a missing store folder was an error."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.runtime import Runtime
from governor.secrets import SecretError
from governor.simulator import SimulatorOptions, World
from governor.store import StoreError
from tests.conftest import WORLD_NOW

CONFIG = """
[neon]
api_key_file = "gentle.key"
requests_per_minute = 60000
requests_per_second_per_route = 1000

[store]
path = "state/governor.db"
"""


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config in ``conf/``, run from an unrelated working folder."""
    (tmp_path / "conf").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = tmp_path / "conf" / "governor.toml"
    config.write_text(CONFIG)
    return config


def test_store_path_and_key_file_resolve_against_the_config_file_not_the_working_folder(
    elsewhere: Path,
) -> None:
    folder = elsewhere.parent
    (folder / "gentle.key").write_text("napi_gentle\n")
    runtime = Runtime.load(elsewhere)
    assert runtime.store_path() == folder / "state" / "governor.db"
    assert runtime.store_path().is_absolute()
    (account,) = runtime.account_settings()
    assert runtime.read_key(account) == "napi_gentle"


def test_a_missing_key_file_is_named_by_its_absolute_path(elsewhere: Path) -> None:
    runtime = Runtime.load(elsewhere)
    (account,) = runtime.account_settings()
    with pytest.raises(SecretError, match=f"looked at {elsewhere.parent / 'gentle.key'}"):
        runtime.read_key(account)


def test_a_relative_config_path_still_gives_absolute_store_paths(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(elsewhere.parent.parent)
    runtime = Runtime.load(Path("conf/governor.toml"))
    assert runtime.store_path() == elsewhere.parent / "state" / "governor.db"


def test_a_systemd_credential_is_still_found_before_the_config_folder(
    elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "gentle.key").write_text("napi_from_systemd")
    (elsewhere.parent / "gentle.key").write_text("napi_beside_the_config")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    runtime = Runtime.load(elsewhere)
    (account,) = runtime.account_settings()
    assert runtime.read_key(account) == "napi_from_systemd"


def test_a_missing_store_folder_is_created_owner_only(elsewhere: Path) -> None:
    runtime = Runtime.load(elsewhere)
    folder = elsewhere.parent / "state"
    assert not folder.exists()
    runtime.open_store().close()  # was: "folder state does not exist"
    assert (folder / "governor.db").is_file()
    assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0


def test_a_read_only_open_creates_nothing(elsewhere: Path) -> None:
    runtime = Runtime.load(elsewhere)
    with pytest.raises(StoreError):
        runtime.open_store(read_only=True)
    assert not (elsewhere.parent / "state").exists()


def test_audit_from_another_folder_uses_the_configs_key_and_store(
    elsewhere: Path, served_simulator: Callable[..., Any]
) -> None:
    world = World.generate(seed=3, orgs=1, projects=2, branches=6, now=WORLD_NOW)
    options = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
    _, base_url = served_simulator(world, options)
    (elsewhere.parent / "gentle.key").write_text("sim-personal-key\n")
    result = CliRunner().invoke(
        app,
        ["audit", "--config", str(elsewhere), "--format", "json"],
        env={"NEON_API_URL": base_url, "NEON_API_KEY": None},
    )
    assert result.exit_code in (0, 1), result.stderr
    assert json.loads(result.stdout)["run"]["complete"] is True
    assert (elsewhere.parent / "state" / "governor.db").is_file()
    assert not any(Path.cwd().iterdir())  # nothing landed in the working folder
