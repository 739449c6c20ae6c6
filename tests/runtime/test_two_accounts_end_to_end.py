"""Two ``[[accounts]]`` end to end: every decision on the second account's resources goes
out with the second account's key, whichever way a person makes it.

Before: ``Executor.account_for`` ignored its resource and answered with the first
account, and Slack built its own Keep; a keep or an approved change on the second
account's resource was sent with the first account's key (an org key of another
organization: refused, or with a personal key, applied under the wrong account).
The world's keys are organization keys, so the wrong key cannot reach the resource.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from governor.cli import app
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS
from governor.runtime import Runtime
from governor.simulator import Simulator, SimulatorOptions, World, serve
from governor.slack.authorize import Actor
from governor.slack.interactions import Interaction
from governor.slack.service import SlackService, web_client
from governor.store import history, remediations
from governor.store import slack as slack_table
from tests.remediate.test_accounts import ORGS
from tests.remediate.test_accounts import _world as two_orgs
from tests.remediate.world import OLD
from tests.simulator.worlds import branch, endpoint
from tests.slack.harness import settings_for

pytestmark = pytest.mark.anyio

FAST = SimulatorOptions(
    requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(0.01, 0.02)
)
SECOND_PROJECT = "proj-1-aaaa"
BY_CLI, BY_SLACK = "ep-never-1", "ep-never-1b"  # approved from the CLI, from Slack
KEPT_BY_CLI, KEPT_BY_SLACK = "br-kept-cli-1", "br-kept-slack-1"


def _world(now: datetime) -> dict[str, Any]:
    data = two_orgs()
    second = data["organizations"][1]["projects"][0]
    second["endpoints"].append(
        endpoint(
            BY_SLACK,
            SECOND_PROJECT,
            "br-main-1",
            suspend_timeout_seconds=-1,
            current_state="active",
        )
    )
    expires = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for branch_id in (KEPT_BY_CLI, KEPT_BY_SLACK):
        second["branches"].append(
            branch(
                branch_id,
                SECOND_PROJECT,
                f"preview/{branch_id}",
                "br-main-1",
                created_at=OLD,
                updated_at=OLD,
                expires_at=expires,
            )
        )
    return data


def _config(tmp_path: Path) -> Path:
    policies = tmp_path / "policies"
    policies.mkdir()
    for name, mode in (("never-suspending-computes", "approve"), ("stale-branches", "report")):
        text = Path(f"policies/{name}.yaml").read_text().replace("mode: report", f"mode: {mode}")
        lines = [line for line in text.splitlines() if not line.startswith("  grace:")]
        (policies / f"{name}.yaml").write_text("\n".join(lines) + "\n")
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "governor.db"}"\n'
        f'[policies]\npaths = ["{policies}"]\n'
        "[remediation]\nenabled = true\n"
        f'[[accounts]]\nname = "first"\napi_key_env = "FIRST_KEY"\n'
        f'organizations = ["{ORGS[0]}"]\n'
        f'[[accounts]]\nname = "second"\napi_key_env = "SECOND_KEY"\n'
        f'organizations = ["{ORGS[1]}"]\n'
    )
    return config


async def test_approve_and_keep_on_the_second_account_go_out_with_the_second_accounts_key(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the CLI runs on the wall clock: the simulator shares it (Neon checks expiry ahead of now)
    simulator = Simulator(
        World.from_dict(_world(datetime.now(UTC))), FAST, now=lambda: datetime.now(UTC)
    )
    config = _config(tmp_path)
    with serve(simulator) as base_url:
        env = {
            "NEON_API_URL": base_url,
            "FIRST_KEY": f"sim-org-key-{ORGS[0]}",
            "SECOND_KEY": f"sim-org-key-{ORGS[1]}",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)

        async def cli(*args: str) -> Result:
            result = await asyncio.to_thread(
                CliRunner().invoke, app, [*args, "--config", str(config)], env=env
            )
            assert result.exit_code == 0, (args, result.stdout, result.stderr)
            return result

        await cli("apply", "--yes")  # the audit, and one approval request per endpoint
        listed = json.loads((await cli("remediations", "--format", "json")).stdout)
        pending = {r["resource_id"]: r for r in listed["remediations"]}
        assert {r: p["state"] for r, p in pending.items()} == {
            "ep-never-0": "awaiting_approval",
            BY_CLI: "awaiting_approval",
            BY_SLACK: "awaiting_approval",
        }
        assert {r: p["account"] for r, p in pending.items()} == {
            "ep-never-0": "first",
            BY_CLI: "second",
            BY_SLACK: "second",
        }

        # approve from the CLI: the next apply runs it
        await cli("approve", str(pending[BY_CLI]["id"]))
        await cli("apply", "--yes")
        # keep from the CLI: Neon's own expiry moves later
        kept = await cli("keep", "branch", KEPT_BY_CLI, "--for", "7d", "--reason", "demo")
        assert "Moved the branch's expiry" in kept.stdout, kept.stdout

        # approve and keep from Slack, on what the runtime built
        runtime = Runtime.load(config)
        async with (
            runtime.open_accounts() as accounts,
            await runtime.open_async_store() as store,
        ):
            findings = await store.run(history.findings)
            kept_finding = next(f for f in findings if f.resource_id == KEPT_BY_SLACK)
            executor = runtime.executor(accounts, store, actor="slack", policies=runtime.policies())
            settings = settings_for(fake_slack)
            service = SlackService(
                settings,
                store,
                runtime.clock,
                web_client(settings, fake_slack.bot_token),
                executor=lambda: executor,
            )
            record = await store.run(remediations.get, pending[BY_SLACK]["id"])
            service.sender_interval = 0.01
            await service.approvals.request([record])
            assert await service.sender().flush(deadline_seconds=20)  # posted in Slack
            approval = await store.run(slack_table.approval_for, record.id)
            assert approval is not None
            team = await service.team_id()
            assert team is not None
            clicked = Actor(ALICE.id, team, approval.channel, approval.ts)  # on its message
            approved = await service.handle(
                Interaction(
                    "block_actions", clicked, action_id="neon_approve", value=approval.token
                )
            )
            assert approved.startswith("Approved remediation"), approved
            said = await service.handle(
                Interaction(
                    "block_actions",
                    Actor(ALICE.id, team, APPROVALS.id),
                    action_id="neon_keep",
                    value=f"keep:{kept_finding.id}:7d",
                )
            )
            assert said.startswith("Moved the branch's expiry"), said
            rows = {r.resource_id: r for r in await store.run(remediations.listed)}

    sent = {
        entry["path"].rsplit("/", 1)[-1]: entry["key"]
        for entry in simulator.logged_requests()
        if entry["method"] != "GET"
    }
    second = f"org:{ORGS[1]}"
    assert rows[BY_SLACK].state == "succeeded", rows[BY_SLACK]
    assert sent == {BY_CLI: second, BY_SLACK: second, KEPT_BY_CLI: second, KEPT_BY_SLACK: second}
    for resource in (BY_CLI, BY_SLACK, KEPT_BY_CLI, KEPT_BY_SLACK):
        assert (rows[resource].account, rows[resource].state) == ("second", "succeeded")
    assert rows["ep-never-0"].state == "awaiting_approval"  # nobody decided the first's
