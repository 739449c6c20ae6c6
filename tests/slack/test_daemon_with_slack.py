"""The issue's done-when, with the daemon itself pointed at a fake Slack it has never seen:
reports with their CSV, one approval message per remediation, refused clicks act on
nothing, an approver's click runs exactly that remediation and the message says so."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from governor.daemon.daemon import Daemon
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, MALLORY
from governor.runtime import Runtime
from governor.simulator import Simulator, SimulatorOptions, World
from governor.store import Store, audit_log, history, remediations
from governor.store import slack as slack_table
from tests.remediate.world import NEVER_SUSPENDS, PERSONAL_TOKEN, world_data
from tests.slack.harness import eventually

pytestmark = pytest.mark.anyio
FAST = SimulatorOptions(
    requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(0.01, 0.02)
)


def _approve_mode_policies(folder: Path) -> Path:
    folder.mkdir()
    for source in sorted(Path("policies").glob("*.yaml")):
        lines = []
        for line in source.read_text().splitlines():
            if line.startswith("  grace:"):
                continue
            if line.strip() == "mode: report":
                lines.append("  mode: approve")
                lines.append('  schedule: "2s"')
                continue
            lines.append(line)
        (folder / source.name).write_text("\n".join(lines) + "\n")
    return folder


async def test_the_daemon_reports_asks_and_runs_only_what_an_approver_approved(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    served_simulator: Callable[..., tuple[Simulator, str]],
) -> None:
    simulator, base_url = served_simulator(World.from_dict(world_data()), FAST)
    policies = _approve_mode_policies(tmp_path / "policies")
    db = tmp_path / "governor.db"
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[neon]\napi_url = "{base_url}"\napi_key_env = "DAEMON_NEON_KEY"\n'
        f'[store]\npath = "{db}"\n[policies]\npaths = ["{policies}"]\n'
        "[remediation]\nenabled = true\n"
        f'[slack]\nchannel = "{APPROVALS.id}"\napprovers = ["{ALICE.id}"]\n'
        f'api_url = "{fake_slack.base_url}"\n'
        '[daemon]\njitter = "0s"\nshutdown_grace = "5s"\n[metrics]\nlisten = ""\n'
        '[log]\nformat = "text"\n'
    )
    monkeypatch.setenv("DAEMON_NEON_KEY", PERSONAL_TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    daemon = Daemon(Runtime.load(config))
    task = asyncio.create_task(daemon.run())
    try:
        report = await fake_slack.until(_report, what="a run report", timeout=60)
        await fake_slack.until(
            lambda log: [f for f in log.files() if f.thread_ts == report.ts] or None,
            what="the CSV in the report's thread",
            timeout=60,
        )

        async def approval_posted() -> Any:
            with Store.open(db) as store:
                waiting = store.call(remediations.listed, states=["awaiting_approval"])
                record = next((x for x in waiting if x.resource_id == NEVER_SUSPENDS), None)
                approval = store.call(slack_table.approval_for, record.id) if record else None
                return (record, approval) if approval and approval.ts else None

        record, approval = await eventually(approval_posted, what="the approval message")
        await asyncio.to_thread(fake_slack.wait_for_connection)
        for user in (MALLORY.id, ALICE.id):
            envelope = await asyncio.to_thread(
                fake_slack.click,
                channel=approval.channel,
                ts=approval.ts,
                action_id="neon_approve",
                user=user,
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

        async def succeeded() -> bool:
            with Store.open(db) as store:
                return store.call(remediations.get, record.id).state == "succeeded"

        await eventually(succeeded, what="the approved remediation to succeed", deadline=60)
        await fake_slack.until(
            lambda log: (
                log.find_message(approval.channel, approval.ts)
                if "done" in str(log.find_message(approval.channel, approval.ts).blocks)
                else None
            ),
            what="the approval message to show the outcome",
            timeout=60,
        )
    finally:
        daemon.stop.set()
        await asyncio.wait_for(task, timeout=60)
    patches = [
        entry["path"]
        for entry in simulator.logged_requests()
        if entry["method"] != "GET" and int(entry["status"]) < 300
    ]
    assert patches == [f"/api/v2/projects/fix-project-11111111/endpoints/{NEVER_SUSPENDS}"]
    with Store.open(db) as store:
        refused = [e for e in store.call(audit_log.entries) if e.event == "slack_refused"]
    assert [e.actor for e in refused] == [f"slack:{MALLORY.id}"]


def _report(log: Any) -> Any:
    return next(
        (
            m
            for m in log.messages(APPROVALS.id)
            if not m.is_reply and "governance report" in m.text.lower()
        ),
        None,
    )


async def test_the_daemons_auto_pass_posts_its_notices_in_slack_and_waits_out_the_grace(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    served_simulator: Callable[..., tuple[Simulator, str]],
) -> None:
    """Red-team 11: with Slack configured the daemon's notices were log lines only."""
    simulator, base_url = served_simulator(World.from_dict(world_data()), FAST)
    policies = tmp_path / "policies"
    policies.mkdir()
    source = Path("policies/never-suspending-computes.yaml").read_text()
    (policies / "p.yaml").write_text(
        source.replace("  mode: report", '  mode: auto\n  grace: "1d"\n  schedule: "1s"')
    )
    db = tmp_path / "governor.db"
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[neon]\napi_url = "{base_url}"\napi_key_env = "DAEMON_NEON_KEY"\n'
        f'[store]\npath = "{db}"\n[policies]\npaths = ["{policies}"]\n'
        "[remediation]\nenabled = true\n"
        f'[slack]\nchannel = "{APPROVALS.id}"\napi_url = "{fake_slack.base_url}"\n'
        'report = "never"\n'
        '[daemon]\njitter = "0s"\nshutdown_grace = "5s"\n[metrics]\nlisten = ""\n'
        '[log]\nformat = "text"\n'
    )
    monkeypatch.setenv("DAEMON_NEON_KEY", PERSONAL_TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    daemon = Daemon(Runtime.load(config))
    task = asyncio.create_task(daemon.run())
    try:
        notice = await fake_slack.until(
            lambda log: next(iter(log.messages(APPROVALS.id)), None),
            what="the notice in Slack",
            timeout=60,
        )

        async def three_runs() -> bool:
            with Store.open(db) as store:
                return len(store.call(history.latest_runs)) >= 3

        await eventually(three_runs, what="three more passes", deadline=60)
    finally:
        daemon.stop.set()
        await asyncio.wait_for(task, timeout=60)
    assert NEVER_SUSPENDS in str(notice.blocks)
    assert len(fake_slack.log.messages(APPROVALS.id)) == 1  # once, not every pass
    assert not [e for e in simulator.logged_requests() if e["method"] != "GET"]


def test_cli_apply_with_slack_posts_its_approval_requests_in_the_same_pass(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    served_simulator: Callable[..., tuple[Simulator, str]],
) -> None:
    """Before: ``apply`` created the requests and only the daemon's reaper posted them."""
    from typer.testing import CliRunner

    from governor.cli import app

    _, base_url = served_simulator(World.from_dict(world_data()), FAST)
    policies = _approve_mode_policies(tmp_path / "policies")
    db = tmp_path / "governor.db"
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[neon]\napi_url = "{base_url}"\napi_key_env = "APPLY_NEON_KEY"\n'
        f'[store]\npath = "{db}"\n[policies]\npaths = ["{policies}"]\n'
        "[remediation]\nenabled = true\n"
        f'[slack]\nchannel = "{APPROVALS.id}"\napprovers = ["{ALICE.id}"]\n'
        f'api_url = "{fake_slack.base_url}"\nreport = "never"\n'
    )
    monkeypatch.setenv("APPLY_NEON_KEY", PERSONAL_TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    applied = CliRunner().invoke(app, ["apply", "--yes", "--config", str(config)])
    assert applied.exit_code == 0, applied.stderr
    with Store.open(db) as store:
        waiting = store.call(remediations.listed, states=["awaiting_approval"])
        record = next(x for x in waiting if x.resource_id == NEVER_SUSPENDS)
        approval = store.call(slack_table.approval_for, record.id)
    assert approval is not None
    assert approval.ts
    assert any(NEVER_SUSPENDS in str(m.blocks) for m in fake_slack.log.messages(APPROVALS.id))
