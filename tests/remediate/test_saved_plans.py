"""Saved plans and the apply messages: what a person reviewed is what runs, and says so.

A saved plan runs only if this store wrote it (the store keeps its hash and lifetime),
unedited, with every change still what its findings' policies propose; nothing in a file
escapes the executor's re-check and guards. The apply and plan commands say what they
will do (the changes right above the prompt, a pause that holds them) and refuse an
``--out`` they cannot write before any run is recorded.
"""

from __future__ import annotations

import json
import logging
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from governor.cli import app
from governor.remediate.planfile import content_hash
from governor.simulator import Simulator, SimulatorOptions, World
from governor.store import Store, history, saved_plans
from tests.remediate.world import NEVER_SUSPENDS, PERSONAL_TOKEN, world_data

FAST = SimulatorOptions(
    requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(0.01, 0.02)
)
GOVERNORS_OWN_KEY = 6002  # a personal key in use; the config names it as the governor's


def _policies(folder: Path, mode: str = "auto") -> Path:
    folder.mkdir()
    for source in sorted(Path("policies").glob("*.yaml")):
        text = source.read_text().replace("mode: report", f"mode: {mode}")
        text = "\n".join(line for line in text.splitlines() if not line.startswith("  grace:"))
        (folder / source.name).write_text(text + "\n")
    return folder


class Cli:
    """The CLI against a served simulator, a store in ``tmp_path`` and auto policies."""

    def __init__(
        self, tmp_path: Path, simulator: Simulator, base_url: str, mode: str = "auto"
    ) -> None:
        self.tmp_path, self.simulator, self.base_url = tmp_path, simulator, base_url
        self.db = tmp_path / "governor.db"
        self.config = tmp_path / "governor.toml"
        self.policies = policies = _policies(tmp_path / "policies", mode)
        self.config.write_text(
            f'[store]\npath = "{self.db}"\n'
            f'[policies]\npaths = ["{policies}"]\n'
            f"[remediation]\nenabled = true\nself_key_id = {GOVERNORS_OWN_KEY}\n"
        )
        self.env = {"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(app, [*args, "--config", str(self.config)], env=self.env)

    def mutations(self) -> list[dict[str, Any]]:
        return [e for e in self.simulator.logged_requests() if e["method"] != "GET"]

    def saved(self, name: str = "plan.json") -> tuple[Path, dict[str, Any]]:
        path = self.tmp_path / name
        planned = self("plan", "--out", str(path))
        assert planned.exit_code == 0, planned.stderr
        return path, json.loads(path.read_text())


@pytest.fixture
def served(served_simulator: Callable[..., tuple[Simulator, str]]) -> tuple[Simulator, str]:
    return served_simulator(World.from_dict(world_data()), FAST)


@pytest.fixture
def cli(tmp_path: Path, served: tuple[Simulator, str]) -> Cli:
    return Cli(tmp_path, *served)


def _rehashed(document: dict[str, Any]) -> dict[str, Any]:
    body = {key: value for key, value in document.items() if key != "sha256"}
    return {**body, "sha256": content_hash(body)}


def _kept_by_the_store(cli: Cli, document: dict[str, Any]) -> None:
    """As if the store had written ``document`` (a bug in the builder, or the store itself
    edited): the checks after the hash must still hold."""
    with Store.open(cli.db) as store:
        store.call(
            saved_plans.record,
            document["sha256"],
            created_at=datetime.fromisoformat(document["created_at"]),
            expires_at=datetime.fromisoformat(document["expires_at"]),
            item_count=len(document["items"]),
        )


def _acting_item(document: dict[str, Any], resource_id: str) -> dict[str, Any]:
    return next(
        item
        for item in document["items"]
        if item["resource_id"] == resource_id and item["status"] == "act"
    )


def test_an_edited_and_rehashed_plan_file_is_refused(cli: Cli) -> None:
    path, document = cli.saved()
    _acting_item(document, NEVER_SUSPENDS)["change"]["fields"]["suspend_timeout_seconds"] = 60
    path.write_text(json.dumps(_rehashed(document)))

    applied = cli("apply", "--plan", str(path), "--yes")
    assert applied.exit_code == 2
    assert "this store never wrote a plan with sha256" in applied.stderr
    assert cli.mutations() == []


def test_a_plan_made_with_another_store_is_refused_by_a_check_not_a_foreign_key(
    cli: Cli,
) -> None:
    path, _ = cli.saved()
    applied = cli("apply", "--plan", str(path), "--yes", "--db", str(cli.tmp_path / "other.db"))
    assert applied.exit_code == 2
    assert "made with another store" in applied.stderr
    assert "FOREIGN KEY" not in applied.stderr.upper()
    assert len(applied.stderr.strip().splitlines()) == 1
    assert cli.mutations() == []


def test_a_plans_lifetime_comes_from_the_store_not_the_file(cli: Cli) -> None:
    path, document = cli.saved()
    # a later expiry written into the file (and re-hashed) is not the store's
    longer = _rehashed({**document, "expires_at": "2099-01-01T00:00:00+00:00"})
    longer_path = cli.tmp_path / "longer.json"
    longer_path.write_text(json.dumps(longer))
    refused = cli("apply", "--plan", str(longer_path), "--yes")
    assert refused.exit_code == 2
    assert "never wrote" in refused.stderr
    # the store's expiry rules even where the unedited file says later
    connection = sqlite3.connect(cli.db)
    with connection:
        connection.execute(
            "UPDATE saved_plans SET expires_at = ? WHERE sha256 = ?",
            ["2000-01-01T00:00:00.000000+00:00", document["sha256"]],
        )
    connection.close()
    expired = cli("apply", "--plan", str(path), "--yes")
    assert expired.exit_code == 2
    assert "the plan expired at 2000-01-01T00:00:00" in expired.stderr
    assert cli.mutations() == []


def test_an_item_whose_change_differs_from_its_policys_action_is_refused(cli: Cli) -> None:
    path, document = cli.saved()
    item = _acting_item(document, NEVER_SUSPENDS)
    asked = item["sources"][0]["action"]  # what the policy asks, left as it was
    item["change"]["fields"]["suspend_timeout_seconds"] = 60
    forged = _rehashed(document)
    path.write_text(json.dumps(forged))
    _kept_by_the_store(cli, forged)

    applied = cli("apply", "--plan", str(path), "--yes")
    assert applied.exit_code == 2
    assert f"endpoint {NEVER_SUSPENDS}" in applied.stderr
    assert "its policies propose" in applied.stderr
    assert asked["type"] == "set_autosuspend"
    assert cli.mutations() == []  # the whole plan is refused, not half-applied


def test_an_item_without_sources_is_refused_and_the_governors_own_key_is_never_revoked(
    cli: Cli,
) -> None:
    path, document = cli.saved()
    template = _acting_item(document, NEVER_SUSPENDS)
    forged_item = {
        **template,
        "resource_type": "api_key",
        "resource_id": str(GOVERNORS_OWN_KEY),
        "project_id": None,
        "name": "in-use",
        "sources": [],
        "policy": "",
        "change": {"kind": "revoke_personal_key", "fields": {}},
        "request": f"DELETE /api_keys/{GOVERNORS_OWN_KEY}",
        "before": {},
        "after": {"revoked": True},
        "scope": "personal",
    }
    forged = _rehashed({**document, "items": [forged_item]})
    path.write_text(json.dumps(forged))
    _kept_by_the_store(cli, forged)

    applied = cli("apply", "--plan", str(path), "--yes")
    assert applied.exit_code == 2
    assert "names no finding it was planned from" in applied.stderr
    sent = [f"{e['method']} {e['path']}" for e in cli.simulator.logged_requests()]
    assert not [line for line in sent if line.startswith("DELETE")]
    assert not [line for line in sent if str(GOVERNORS_OWN_KEY) in line]


def test_apply_while_paused_says_how_many_changes_are_held_and_how_to_resume(cli: Cli) -> None:
    assert cli("pause", "--reason", "incident 42").exit_code == 0
    applied = cli("apply", "--yes")
    assert applied.exit_code == 0, applied.stderr
    held = re.search(r"paused: (\d+) change\(s\) held", applied.stderr)
    assert held is not None, applied.stderr
    assert int(held.group(1)) > 0
    assert "incident 42" in applied.stderr
    assert "(neon-governor resume)" in applied.stderr
    assert "Nothing to apply" not in applied.stderr + applied.stdout
    assert cli.mutations() == []


def test_plan_out_into_a_missing_folder_exits_2_before_any_run_is_recorded(cli: Cli) -> None:
    missing = cli.tmp_path / "no-such-folder" / "plan.json"
    planned = cli("plan", "--out", str(missing))
    assert planned.exit_code == 2
    assert planned.stderr.count("\n") == 1
    assert f"--out {missing}: cannot write the plan there" in planned.stderr
    assert cli.simulator.logged_requests() == []  # not even a sweep
    if cli.db.exists():
        with Store.open(cli.db) as store:
            assert store.call(history.latest_runs) == []


def _on_a_terminal(cli: Cli, *args: str, answer: str) -> str:
    """Run the CLI with a pseudo-terminal for stdin and stdout; answer the prompt."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "governor", *args, "--config", str(cli.config)],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, **cli.env, "COLUMNS": "200"},
        close_fds=True,
    )
    os.close(terminal)
    seen = b""
    answered = False
    deadline = time.monotonic() + 120  # a bound on a hang, not a timing assumption
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"[y/N]" in seen:
                os.write(controller, answer.encode() + b"\n")
                answered = True
            if process.poll() is not None and not ready:
                break
    finally:
        process.wait(timeout=60)
        os.close(controller)
    return seen.decode("utf-8", "replace").replace("\r\n", "\n")


def test_the_prompt_restates_the_changes_right_above_it(cli: Cli) -> None:
    shown = _on_a_terminal(cli, "apply", answer="n")
    lines = shown.splitlines()
    prompt = next(i for i, line in enumerate(lines) if "[y/N]" in line)
    asked = re.search(r"Apply (\d+) change\(s\) to Neon\?", lines[prompt])
    assert asked is not None, shown
    count = int(asked.group(1))
    assert count > 0
    header = lines.index(f"These {count} change(s) will be sent to Neon:")
    restated = lines[header + 1 : header + 1 + count]
    assert [line.split(". ", 1)[0].strip() for line in restated] == [
        str(n) for n in range(1, count + 1)
    ]
    after = lines[header + 1 + count : prompt]
    assert all(line.startswith("and ") for line in after)  # only the approval-request note
    assert any(NEVER_SUSPENDS in line and "PATCH" in line for line in restated)
    assert cli.mutations() == []  # answered no


def _edit_policy(cli: Cli, name: str, old: str, new: str) -> None:
    path = cli.policies / f"{name}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_saved_plan_whose_policy_now_asks_something_else_is_refused(cli: Cli) -> None:
    path, _ = cli.saved()
    _edit_policy(cli, "never-suspending-computes", "seconds: 300", "seconds: 600")
    applied = cli("apply", "--plan", str(path), "--yes")
    assert applied.exit_code == 2
    assert "never-suspending-computes now asks set_autosuspend (seconds=600)" in applied.stderr
    assert cli.mutations() == []


def test_a_saved_auto_plan_is_refused_once_its_policy_needs_approval(cli: Cli) -> None:
    path, _ = cli.saved()
    _edit_policy(cli, "never-suspending-computes", "mode: auto", "mode: approve")
    applied = cli("apply", "--plan", str(path), "--yes")
    assert applied.exit_code == 2
    assert "its policies' mode is approve, the plan says auto" in applied.stderr
    assert cli.mutations() == []


def test_plan_before_any_apply_says_run_apply_to_request_approval_then_names_the_id(
    tmp_path: Path, served: tuple[Simulator, str]
) -> None:
    cli = Cli(tmp_path, *served, mode="approve")
    before = cli("plan")
    assert before.exit_code == 0, before.stderr
    assert "run apply to request it" in before.stdout
    assert "approve ID" not in before.stdout
    applied = cli("apply", "--yes")
    assert applied.exit_code == 0, applied.stderr
    asked = re.findall(
        r"#(\d+) awaiting approval: \S+ on endpoint " + NEVER_SUSPENDS, applied.stdout
    )
    assert asked, applied.stdout
    after = cli("plan")
    line = next(line for line in after.stdout.splitlines() if NEVER_SUSPENDS in line)
    assert f"neon-governor approve {asked[0]}" in line
    assert cli.mutations() == []


def test_apply_without_slack_logs_the_approval_request_with_the_commands_to_decide_it(
    tmp_path: Path, served: tuple[Simulator, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Before: the log channel only logged run reports, so a request asked by ``apply``
    with no Slack set up reached nobody but the table ``apply`` printed."""
    cli = Cli(tmp_path, *served, mode="approve")
    with caplog.at_level(logging.INFO, logger="governor.notify"):
        applied = cli("apply", "--yes")
    assert applied.exit_code == 0, applied.stderr
    lines = [r.getMessage() for r in caplog.records if "awaiting approval" in r.getMessage()]
    asked = [line for line in lines if NEVER_SUSPENDS in line]
    assert asked, caplog.text
    number = re.search(r"remediation (\d+) awaiting approval", asked[0])
    assert number is not None
    assert f"`neon-governor approve {number[1]}`" in asked[0]
    assert f"`neon-governor reject {number[1]}`" in asked[0]
