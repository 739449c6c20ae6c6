"""Fixtures that run the real command-line programs as subprocesses over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "governor"]


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]


def start_simulator(world_file: Path, *extra: str) -> Served:
    process = subprocess.Popen(
        [*CLI, "simulate", "--world", str(world_file), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("LISTENING "):
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"simulator did not start: {line!r} {err}")
    return Served(url=line.split(" ", 1)[1], process=process)


@pytest.fixture
def simulator_process() -> Iterator[callable]:  # type: ignore[valid-type]
    started: list[Served] = []

    def start(world: dict, tmp_path: Path, *extra: str) -> Served:
        world_file = tmp_path / "world.json"
        world_file.write_text(json.dumps(world))
        served = start_simulator(world_file, *extra)
        started.append(served)
        return served

    yield start
    for served in started:
        served.process.terminate()
        try:
            served.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            served.process.kill()


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    merged = {**os.environ, **env}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=merged, timeout=timeout, check=False
    )
