"""Every command that opens the store: a corrupt, unopenable or locked file gives one line
on stderr naming the file, and exit 2; never a traceback, never exit 1 ("findings")."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.simulator import SimulatorOptions, World
from governor.store import Store
from tests.conftest import WORLD_NOW

runner = CliRunner()
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


def fast_config(folder: Path) -> Path:
    config = folder / "fast.toml"
    config.write_text("[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n")
    return config


def corrupt(folder: Path) -> Path:
    path = folder / "corrupt.db"
    path.write_bytes(b"this is not an SQLite database, just bytes\n" * 200)
    return path


def missing_folder(folder: Path) -> Path:
    return folder / "no-such-folder" / "governor.db"


def a_folder(folder: Path) -> Path:
    path = folder / "a-folder.db"
    path.mkdir()
    return path


BAD_STORES: dict[str, Callable[[Path], Path]] = {
    "corrupt": corrupt,
    "missing folder": missing_folder,
    "a directory": a_folder,
}


def invoke(command: list[str], base_url: str) -> Any:
    return runner.invoke(
        app, command, env={"NEON_API_URL": base_url, "NEON_API_KEY": "sim-personal-key"}
    )


def assert_one_line_exit_2(result: Any, path: Path) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("neon-governor: ")
    assert str(path) in lines[0]
    assert "Traceback" not in result.stderr


@pytest.fixture
def base_url(served_simulator: Callable[..., Any]) -> str:
    world = World.generate(seed=3, orgs=1, projects=2, branches=6, now=WORLD_NOW)
    _, url = served_simulator(world, NO_LIMITS)
    return str(url)


@pytest.mark.parametrize("kind", sorted(BAD_STORES))
def test_audit_on_a_bad_store_exits_2_with_one_line(
    kind: str, base_url: str, tmp_path: Path
) -> None:
    path = BAD_STORES[kind](tmp_path)
    result = invoke(["audit", "--db", str(path), "--config", str(fast_config(tmp_path))], base_url)
    assert_one_line_exit_2(result, path)


@pytest.mark.parametrize("kind", ["corrupt", "a directory"])
def test_findings_on_a_bad_store_exits_2_with_one_line(
    kind: str, base_url: str, tmp_path: Path
) -> None:
    path = BAD_STORES[kind](tmp_path)
    assert_one_line_exit_2(invoke(["findings", "--db", str(path)], base_url), path)


def test_demo_on_a_bad_store_exits_2_with_one_line(tmp_path: Path) -> None:
    path = corrupt(tmp_path)
    result = runner.invoke(app, ["demo", "--db", str(path), "--projects", "2", "--branches", "4"])
    assert result.exit_code == 2, result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A store another process holds the write lock on for the whole test."""
    path = tmp_path / "locked.db"
    Store.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield path
    finally:
        holder.rollback()
        holder.close()


def test_audit_on_a_locked_store_exits_2_with_one_line(
    locked: Path, base_url: str, tmp_path: Path
) -> None:
    config = fast_config(tmp_path)
    config.write_text(config.read_text() + "[store]\nbusy_timeout_seconds = 0.2\n")
    result = invoke(["audit", "--db", str(locked), "--config", str(config)], base_url)
    assert_one_line_exit_2(result, locked)
    assert "locked" in result.stderr
