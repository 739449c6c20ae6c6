"""Real processes on one store against a simulator that answers mutations slowly.

Two ``neon-governor apply --yes`` at once (the second starting while the first is in the
middle of a send), and an ``apply`` SIGKILLed mid-send then started again a second later.
What counts is the simulator's own request log (a file it flushes per request, written
even for a request whose sender is gone): no change reaches Neon twice, and every
remediation ends terminal. Each step waits for what the processes leave in the store,
within generous deadlines; nothing depends on the machine's speed.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from governor.simulator import World
from tests.remediate.world import PERSONAL_TOKEN, world_data

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
MUTATION_SECONDS = 3.0  # each mutation lands this long after it was sent
DEADLINE = 240.0  # far above what any step takes, even on a busy 2-core machine
REFUSED = frozenset({423, 429, 503})  # answered before Neon acted on the request
POLICIES = ("never-suspending-computes.yaml", "stale-branches.yaml")


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _rows(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as reader:
        reader.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in reader.execute("SELECT * FROM remediations")]
        except sqlite3.OperationalError:  # not migrated yet
            return []


def _mid_send(db: Path) -> bool:
    """A claimed row whose request was journaled and has had no answer yet."""
    return any(
        row["state"] == "executing" and row["intent_at"] and not row["sent_at"] for row in _rows(db)
    )


class Setup:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "governor.db"
        self.log = folder / "requests.jsonl"
        self.processes: list[subprocess.Popen[bytes]] = []
        world = folder / "world.json"
        World.from_dict(world_data()).dump(world)
        simulator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.remediate.slow_simulator",
                *(str(world), str(self.log), str(MUTATION_SECONDS)),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
        )
        self.processes.append(simulator)
        assert simulator.stdout is not None
        line = simulator.stdout.readline().decode()
        assert line.startswith("LISTENING "), line
        self.url = line.split()[1]
        policies = folder / "policies"
        policies.mkdir()
        for name in POLICIES:
            text = (REPO / "policies" / name).read_text().replace("mode: report", "mode: auto")
            text = "\n".join(line for line in text.splitlines() if not line.startswith("  grace:"))
            (policies / name).write_text(text + "\n")
        self.config = folder / "governor.toml"
        # One attempt of at most 8 s per request: a send may land until 16 s after its intent.
        self.config.write_text(
            f'[neon]\napi_url = "{self.url}"\ntimeout_seconds = 8\nmax_attempts = 1\n'
            f'[store]\npath = "{self.db}"\n'
            f'[policies]\npaths = ["{policies}"]\n'
            "[remediation]\nenabled = true\n"
        )

    def apply(self, name: str) -> subprocess.Popen[bytes]:
        output = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "governor", "apply", "--yes", "--config", str(self.config)],
            cwd=self.folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NEON_API_KEY": PERSONAL_TOKEN, "PYTHONFAULTHANDLER": "1"},
        )
        output.close()
        self.processes.append(process)
        return process

    def output(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def mutations(self) -> Counter[tuple[str, str]]:
        """Every mutation that reached Neon, by method and path, from the simulator's log
        (those Neon refused before acting on them, 423, 429 and 503, aside)."""
        lines = self.log.read_text().splitlines()
        entries = [json.loads(line) for line in lines if line.strip()]
        return Counter(
            (entry["method"], entry["path"])
            for entry in entries
            if entry["method"] != "GET" and int(entry["status"]) not in REFUSED
        )

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=30)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = Setup(tmp_path)
    try:
        yield made
    finally:
        made.close()


def _finished(setup: Setup, process: subprocess.Popen[bytes], name: str) -> int:
    try:
        return process.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # a stack dump into its log
        process.wait(timeout=30)
        said = setup.output(name)[-3000:]
        raise AssertionError(f"{name} did not finish; it said:\n{said}") from None


def _assert_sent_once_and_all_terminal(setup: Setup, *, waiting: tuple[str, ...] = ()) -> None:
    """No change reached Neon twice; every remediation ended (or, ``waiting``, never began)."""
    sent = setup.mutations()
    assert sent, "nothing was sent at all"
    twice = {target: count for target, count in sent.items() if count > 1}
    assert twice == {}, f"sent more than once: {twice}"
    states = Counter(row["state"] for row in _rows(setup.db))
    ended = ("succeeded", "failed", "skipped", *waiting)
    unfinished = {s: n for s, n in states.items() if s not in ended}
    assert unfinished == {}, f"not terminal: {unfinished} (all: {dict(states)})"


def test_two_applies_at_once_never_send_one_change_twice(setup: Setup) -> None:
    first = setup.apply("first")
    _wait_until(lambda: _mid_send(setup.db), "the first apply in the middle of a send")
    second = setup.apply("second")  # its reconcile sees the first one's row under way
    assert _finished(setup, second, "second") in (0, 3), setup.output("second")
    assert _finished(setup, first, "first") in (0, 3), setup.output("first")
    _assert_sent_once_and_all_terminal(setup)
    assert "left to process " in setup.output("second")  # its own line, not "Finished"


def test_an_apply_killed_mid_send_and_restarted_a_second_later_sends_nothing_twice(
    setup: Setup,
) -> None:
    killed = setup.apply("killed")
    _wait_until(lambda: _mid_send(setup.db), "the apply in the middle of a send")
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=30)
    time.sleep(1.0)  # "a quick restart": the killed request is still on its way
    again = setup.apply("again")
    assert _finished(setup, again, "again") in (0, 3), setup.output("again")
    assert "Finished after an earlier interrupted run" in setup.output("again")
    _assert_sent_once_and_all_terminal(setup)


def test_a_sighup_mid_pass_leaves_the_running_generations_work_to_it_then_starts_the_rest(
    setup: Setup,
) -> None:
    """The new generation's reconcile must not take over what the old one is sending; and
    what the old pass planned but did not begin (a stopping generation claims nothing
    more) is started by the new generation once the old pass has ended, instead of
    waiting for the next scheduled pass an hour later (its catch-up was skipped: the old
    sweep job was still running)."""
    for policy in (setup.folder / "policies").glob("*.yaml"):
        policy.write_text(
            policy.read_text().replace("  mode: auto", '  mode: auto\n  schedule: "1h"')
        )
    text = setup.config.read_text()
    setup.config.write_text(text + '[daemon]\njitter = "0s"\nshutdown_grace = "60s"\n')
    log = setup.folder / "daemon.log"
    with log.open("wb") as sink:
        daemon = subprocess.Popen(
            [sys.executable, "-m", "governor", "run", "--config", str(setup.config)],
            cwd=setup.folder,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NEON_API_KEY": PERSONAL_TOKEN, "PYTHONFAULTHANDLER": "1"},
        )
    setup.processes.append(daemon)

    def said() -> str:
        return log.read_text(errors="replace")

    _wait_until(lambda: _mid_send(setup.db), "the daemon's pass in the middle of a send")
    daemon.send_signal(signal.SIGHUP)
    _wait_until(lambda: "reloaded" in said(), "the reload")

    def settled() -> bool:  # every row the pass planned has ended, none left planned
        rows = _rows(setup.db)
        return bool(rows) and not any(
            row["state"] in ("planned", "executing", "waiting_operations") for row in rows
        )

    try:
        _wait_until(settled, "what the pass planned to end")
    except AssertionError as error:
        states = Counter(row["state"] for row in _rows(setup.db))
        said_last = said()[-3000:]
        raise AssertionError(f"{error} ({dict(states)}); the daemon said:\n{said_last}") from None
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(timeout=DEADLINE) == 0, said()[-3000:]
    _assert_sent_once_and_all_terminal(setup)
    assert "left alone: held by another executor of this process" in said()
    assert "remediation(s) the reloaded generation left" in said()
