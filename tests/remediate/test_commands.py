"""The remediation commands as people run them: refusals first, then plan → apply → revert."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from governor.cli import app
from governor.policy import load_policies
from governor.simulator import Simulator, SimulatorOptions, World
from governor.store import remediations
from tests.remediate.world import NEVER_SUSPENDS, PERSONAL_TOKEN, world_data

FAST = SimulatorOptions(
    requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(0.01, 0.02)
)


def _auto_policies(folder: Path) -> Path:
    """The shipped policies in auto mode, but those whose action is a data-protection change:
    those wait for a person in auto mode too (``[remediation] auto_data_protection``)."""
    folder.mkdir()
    for source in sorted(Path("policies").glob("*.yaml")):
        if any(policy.action.data_protection for policy in load_policies([source])):
            continue
        text = source.read_text().replace("mode: report", "mode: auto")
        text = "\n".join(line for line in text.splitlines() if not line.startswith("  grace:"))
        (folder / source.name).write_text(text + "\n")
    return folder


@pytest.fixture
def cli(
    tmp_path: Path, served_simulator: Callable[..., tuple[Simulator, str]]
) -> Callable[..., Result]:
    simulator, base_url = served_simulator(World.from_dict(world_data()), FAST)
    policies = _auto_policies(tmp_path / "policies")

    def run(*args: str, enabled: bool = True, input: str | None = None) -> Result:
        config = tmp_path / "governor.toml"
        config.write_text(
            f'[store]\npath = "{tmp_path / "governor.db"}"\n'
            f'[policies]\npaths = ["{policies}"]\n'
            f"[remediation]\nenabled = {'true' if enabled else 'false'}\n"
        )
        return CliRunner().invoke(
            app,
            [*args, "--config", str(config)],
            env={"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN},
            input=input,
        )

    run.simulator = simulator  # type: ignore[attr-defined]
    return run


def _mutations(cli: Any) -> list[dict[str, Any]]:
    return [e for e in cli.simulator.logged_requests() if e["method"] != "GET"]


def test_apply_refuses_until_remediation_is_enabled_and_says_how(cli: Any) -> None:
    result = cli("apply", "--yes", enabled=False)
    assert result.exit_code == 2
    assert "[remediation]" in result.stderr
    assert "enabled = true" in result.stderr
    assert _mutations(cli) == []


def test_apply_when_piped_needs_yes(cli: Any) -> None:
    result = cli("apply")
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert _mutations(cli) == []


def test_plan_prints_every_line_and_saves_a_plan_that_apply_runs_exactly(
    cli: Any, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    planned = cli("plan", "--out", str(saved))
    assert planned.exit_code == 0, planned.stderr
    assert "WILL ACT" in planned.stdout
    # the fixed 32 CU compute is not selected: oversized-computes needs a floor that can drop
    assert "NEEDS A PERSON" not in planned.stdout
    assert f"apply --plan {saved}" in planned.stderr
    assert _mutations(cli) == []  # planning changes nothing
    document = json.loads(saved.read_text())
    acting = {i["request"] for i in document["items"] if i["status"] == "act"}

    applied = cli("apply", "--plan", str(saved), "--yes")
    assert applied.exit_code == 0, applied.stderr
    sent = {f"{e['method']} {e['path'].removeprefix('/api/v2')}" for e in _mutations(cli)}
    assert {request.split(" {")[0] for request in acting} == sent

    listed = cli("remediations", "--format", "json")
    states = {r["state"] for r in json.loads(listed.stdout)["remediations"]}
    assert states == {"succeeded"}


def test_revert_restores_a_compute_and_a_second_approve_changes_nothing(cli: Any) -> None:
    assert cli("apply", "--yes").exit_code == 0
    listed = json.loads(cli("remediations", "--format", "json").stdout)["remediations"]
    patched = next(r for r in listed if r["resource_id"] == NEVER_SUSPENDS)
    reverted = cli("revert", str(patched["id"]), "--yes")
    assert reverted.exit_code == 0, reverted.stderr
    assert "succeeded" in reverted.stdout
    assert _mutations(cli)[-1]["body"] == {"endpoint": {"suspend_timeout_seconds": -1}}
    again = cli("approve", str(patched["id"]))
    assert again.exit_code == 2
    assert "already succeeded" in again.stderr


def test_pause_and_resume_are_recorded_switches(cli: Any) -> None:
    assert "paused" in cli("pause", "--reason", "incident 42").stdout
    cli("apply", "--yes")
    assert _mutations(cli) == []
    assert "resumed" in cli("resume").stdout
    assert cli("apply", "--yes").exit_code == 0
    assert _mutations(cli)


def test_the_daemon_remediates_after_its_sweep_when_enabled(cli: Any) -> None:
    result = cli("run", "--once")
    assert result.exit_code == 0, result.stderr
    sent = {e["path"].removeprefix("/api/v2") for e in _mutations(cli) if e["status"] < 300}
    assert any(path.endswith(NEVER_SUSPENDS) for path in sent)
    listed = json.loads(cli("remediations", "--format", "json").stdout)["remediations"]
    assert listed
    assert {r["state"] for r in listed} == {"succeeded"}


def test_the_daemon_changes_nothing_while_remediation_is_off(cli: Any) -> None:
    result = cli("run", "--once", enabled=False)
    assert result.exit_code == 0, result.stderr
    assert _mutations(cli) == []


# People's decisions from the command line (issue 17: F1, F14, F15, F18, F27, F28) ----------


@pytest.fixture
def approving_cli(
    tmp_path: Path, served_simulator: Callable[..., tuple[Simulator, str]]
) -> Callable[..., Result]:
    """Like ``cli``, with the shipped policies in ``mode: approve``."""
    simulator, base_url = served_simulator(World.from_dict(world_data()), FAST)
    folder = tmp_path / "approve-policies"
    folder.mkdir()
    for source in sorted(Path("policies").glob("*.yaml")):
        text = source.read_text().replace("mode: report", "mode: approve")
        text = "\n".join(line for line in text.splitlines() if not line.startswith("  grace:"))
        (folder / source.name).write_text(text + "\n")

    def run(*args: str) -> Result:
        config = tmp_path / "governor.toml"
        config.write_text(
            f'[store]\npath = "{tmp_path / "governor.db"}"\n'
            f'[policies]\npaths = ["{folder}"]\n'
            "[remediation]\nenabled = true\n"
        )
        return CliRunner().invoke(
            app,
            [*args, "--config", str(config)],
            env={"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN},
        )

    run.simulator = simulator  # type: ignore[attr-defined]
    return run


def _listed(cli: Any) -> list[dict[str, Any]]:
    result = cli("remediations", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout)["remediations"])


def _pending(approving_cli: Any) -> dict[str, Any]:
    assert approving_cli("apply", "--yes").exit_code == 0
    return next(
        r
        for r in _listed(approving_cli)
        if r["resource_id"] == NEVER_SUSPENDS and r["state"] == "awaiting_approval"
    )


def test_cli_reject_of_a_pending_request_ends_rejected_and_nothing_is_sent(
    approving_cli: Any,
) -> None:
    pending = _pending(approving_cli)
    result = approving_cli("reject", str(pending["id"]), "--reason", "not now")
    assert result.exit_code == 0, result.stderr
    assert f"#{pending['id']} rejected by cli:" in result.stdout
    assert "not now" in result.stdout
    row = next(r for r in _listed(approving_cli) if r["id"] == pending["id"])
    assert row["state"] == "rejected"
    assert _mutations(approving_cli) == []


def test_cli_reject_of_an_approved_request_withdraws_it_as_skipped(approving_cli: Any) -> None:
    pending = _pending(approving_cli)
    assert approving_cli("approve", str(pending["id"])).exit_code == 0
    result = approving_cli("reject", str(pending["id"]))
    assert result.exit_code == 0, result.stderr
    assert "approval withdrawn by cli:" in result.stdout
    row = next(r for r in _listed(approving_cli) if r["id"] == pending["id"])
    assert row["state"] == "skipped"
    assert _mutations(approving_cli) == []


def test_approve_twice_says_once_who_approved(approving_cli: Any) -> None:
    pending = _pending(approving_cli)
    assert approving_cli("approve", str(pending["id"])).exit_code == 0
    again = approving_cli("approve", str(pending["id"]))
    assert again.exit_code == 2
    assert f"remediation {pending['id']} is already approved by cli:" in again.stderr
    assert again.stderr.count("cli:") == 1


def test_approve_echoes_the_change_before_and_after(approving_cli: Any) -> None:
    pending = _pending(approving_cli)
    result = approving_cli("approve", str(pending["id"]))
    assert result.exit_code == 0, result.stderr
    assert f"#{pending['id']} approved by cli:" in result.stdout
    assert f"endpoint {NEVER_SUSPENDS}" in result.stdout
    assert f"({NEVER_SUSPENDS})" not in result.stdout  # the id once, not twice
    assert "suspend_timeout_seconds -1 → 300" in result.stdout


def test_remediations_table_shows_before_after_and_project_names_without_wrapping_ids(
    approving_cli: Any,
) -> None:
    _pending(approving_cli)
    table = approving_cli("remediations")
    assert table.exit_code == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert "before → after" in header
    line = next(row for row in rows if NEVER_SUSPENDS in row)
    assert "suspend_timeout_seconds -1 → 300" in line
    assert " fix " in line  # the project's name, not only its id
    assert line.count(NEVER_SUSPENDS) == 1
    assert all(len(row.split()) > 3 for row in rows)  # one line per remediation


def test_remediations_show_prints_one_remediation(approving_cli: Any) -> None:
    pending = _pending(approving_cli)
    shown = approving_cli("remediations", "show", str(pending["id"]))
    assert shown.exit_code == 0, shown.stderr
    assert f"#{pending['id']} awaiting_approval" in shown.stdout
    assert "suspend_timeout_seconds -1 → 300" in shown.stdout
    assert "PATCH /projects/" in shown.stdout
    missing = approving_cli("remediations", "show", "999")
    assert missing.exit_code == 2
    assert "no remediation 999" in missing.stderr


def test_revert_twice_says_it_was_already_reverted_and_adds_no_row(cli: Any) -> None:
    assert cli("apply", "--yes").exit_code == 0
    patched = next(r for r in _listed(cli) if r["resource_id"] == NEVER_SUSPENDS)
    first = cli("revert", str(patched["id"]), "--yes")
    assert first.exit_code == 0, first.stderr
    reverted_by = max(r["id"] for r in _listed(cli))
    rows_before = len(_listed(cli))
    sent_before = len(_mutations(cli))
    again = cli("revert", str(patched["id"]), "--yes")
    assert again.exit_code == 2
    assert f"remediation {patched['id']} was already reverted by #{reverted_by}" in again.stderr
    assert "by hand" not in again.stderr
    assert len(_listed(cli)) == rows_before
    assert len(_mutations(cli)) == sent_before


def test_revert_off_a_terminal_without_yes_asks_for_yes_like_apply(cli: Any) -> None:
    assert cli("apply", "--yes").exit_code == 0
    patched = next(r for r in _listed(cli) if r["resource_id"] == NEVER_SUSPENDS)
    sent_before = len(_mutations(cli))
    result = cli("revert", str(patched["id"]))
    assert result.exit_code == 2
    assert "pass --yes to confirm when not on a terminal" in result.stderr
    assert "suspend_timeout_seconds 300 → -1" in result.stderr  # readable, not a dict repr
    assert "{" not in result.stderr
    assert len(_mutations(cli)) == sent_before


def test_apply_lists_a_row_a_live_process_holds_apart_from_what_it_finished_and_this_run(
    approving_cli: Any, tmp_path: Path
) -> None:
    """apply printed the rows reconcile left to a live process under "Finished after an
    earlier interrupted run", and this pass's outcomes under that same header."""
    import asyncio
    import os
    import socket

    from governor.remediate.ownership import holding
    from governor.store import Store

    assert approving_cli("apply", "--yes").exit_code == 0
    pending = [r for r in _listed(approving_cli) if r["resource_type"] != "api_key"][:3]
    assert len(pending) == 3
    for row in pending:
        assert approving_cli("approve", str(row["id"])).exit_code == 0
    held, dead, ours = (row["id"] for row in pending)

    async def claim(remediation_id: int, owner: str | None) -> None:
        async with await Store.open_async(tmp_path / "governor.db") as store:
            changes = {} if owner is None else {"owner": owner}
            moved = await store.run(
                remediations.move,
                remediation_id,
                expected=["approved"],
                to="executing",
                now=datetime.now(UTC),
                actor="test",
                changes=changes,
            )
            assert moved is not None

    with holding() as holder:  # a live executor (of this process) still sending ``held``
        asyncio.run(claim(held, holder.encode()))
        asyncio.run(claim(dead, None))  # a process that recorded no owner: finished here
        result = approving_cli("apply", "--yes")
    assert result.exit_code == 0, result.output
    out = result.stdout
    finished, _, rest = out.partition("Finished after an earlier interrupted run:\n")[2].partition(
        "Left to the process that holds it:\n"
    )
    left, _, this_run = rest.partition("This run:\n")
    assert f"#{dead} skipped" in finished
    assert f"#{held}" not in finished
    host = socket.gethostname()
    assert f"#{held} left to process {os.getpid()} on {host}: still under way" in left
    assert f"#{ours} succeeded" in this_run
    assert f"#{ours}" not in finished + left
