"""A Slack Keep goes out under the account whose sweep read the resource (red-team 9).

Before: with two ``[[accounts]]``, a Keep on the second account's branch (one that never
had a remediation) was sent with the first account's key, failed, and said nothing useful.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS
from governor.pipeline.audit import run_audit
from governor.pipeline.results import AuditResult
from governor.remediate.execute import Executor
from governor.savings.prices import Prices
from governor.simulator import Simulator, World, serve
from governor.slack.authorize import Actor
from governor.slack.interactions import Interaction
from governor.slack.service import SlackService, web_client
from governor.store import Store, remediations
from governor.store import slack as slack_table
from governor.sweep import Account
from tests.conftest import WORLD_NOW
from tests.neon.helpers import fast_client
from tests.neon.virtual_time import SteppingClock
from tests.remediate.harness import ENABLED, START, options, shipped
from tests.remediate.world import OLD
from tests.simulator.worlds import branch
from tests.slack.harness import settings_for

pytestmark = pytest.mark.anyio

ORGS = ("org-first-1111", "org-second-2222")
SECOND_BRANCH = "br-kept-second-1"


def _world() -> dict[str, Any]:
    from tests.remediate.test_accounts import _world as two_orgs

    data = two_orgs()
    project = data["organizations"][1]["projects"][0]
    project["branches"].append(
        branch(
            SECOND_BRANCH,
            project["id"],
            "preview/kept",
            "br-main-1",
            created_at=OLD,
            updated_at=OLD,
            expires_at="2026-11-29T00:00:00Z",
        )
    )
    return data


@dataclass
class TwoAccounts:
    simulator: Simulator
    store: Store
    accounts: list[Account]
    now: Any

    async def audit(self) -> AuditResult:
        policies = [p for p in shipped("report") if p.name == "stale-branches"]
        return await run_audit(
            accounts=self.accounts,
            store=self.store,
            policies=policies,
            prices=Prices(),
            clock=self.now,
            trigger="test",
        )

    def executor(self, accounts: list[Account] | None = None) -> Executor:
        return Executor(
            store=self.store,
            clients={a.name: a.client for a in accounts or self.accounts},
            policies={p.name: p for p in shipped("report")},
            settings=ENABLED,
            clock=self.now,
            actor="test",
        )

    async def keep(self, service: SlackService, finding_id: int) -> str:
        team = await service.team_id()
        assert team is not None
        actor = Actor(user_id=ALICE.id, team_id=team, channel_id=APPROVALS.id)
        return await service.handle(
            Interaction(
                "block_actions", actor, action_id="neon_keep", value=f"keep:{finding_id}:7d"
            )
        )


@asynccontextmanager
async def two_accounts(tmp_path: Path) -> AsyncIterator[TwoAccounts]:
    clock = SteppingClock(START)

    def now() -> datetime:
        return WORLD_NOW + timedelta(seconds=clock.now - START)

    simulator = Simulator(World.from_dict(_world()), options(), clock=clock, now=now)
    with serve(simulator) as base_url:
        async with (
            fast_client(base_url, f"sim-org-key-{ORGS[0]}", clock=clock, sleep=clock.sleep) as a,
            fast_client(base_url, f"sim-org-key-{ORGS[1]}", clock=clock, sleep=clock.sleep) as b,
            await Store.open_async(tmp_path / "governor.db") as store,
        ):
            yield TwoAccounts(simulator, store, [Account("first", a), Account("second", b)], now)


def _service(rig: TwoAccounts, fake: FakeSlack, executor: Executor) -> SlackService:
    settings = settings_for(fake)
    web = web_client(settings, fake.bot_token)
    return SlackService(settings, rig.store, rig.now, web, executor=lambda: executor)


async def test_a_keep_on_the_second_accounts_branch_is_sent_with_the_second_accounts_key(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with two_accounts(tmp_path) as rig:
        result = await rig.audit()
        finding = next(f for f in result.findings if f.resource_id == SECOND_BRANCH)
        assert not await rig.store.run(remediations.listed)  # it never had a remediation
        reply = await rig.keep(_service(rig, fake_slack, rig.executor()), finding.id)
        assert reply.startswith("Moved the branch's expiry"), reply
        patches = [
            (entry["path"].rsplit("/", 1)[-1], entry["key"])
            for entry in rig.simulator.logged_requests()
            if entry["method"] == "PATCH"
        ]
        assert patches == [(SECOND_BRANCH, f"org:{ORGS[1]}")]
        [record] = await rig.store.run(remediations.listed)
        assert (record.account, record.state) == ("second", "succeeded")


async def test_a_keep_whose_account_is_not_configured_any_more_says_so_and_sends_nothing(
    tmp_path: Path, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    async with two_accounts(tmp_path) as rig:
        result = await rig.audit()
        finding = next(f for f in result.findings if f.resource_id == SECOND_BRANCH)
        first, _ = rig.accounts
        renamed = Account("other", first.client)
        executor = rig.executor([first, renamed])  # "second" was renamed in the config
        with caplog.at_level("WARNING", logger="governor.remediate.decisions"):
            reply = await rig.keep(_service(rig, fake_slack, executor), finding.id)
        assert reply.startswith("Nothing changed in Neon:"), reply
        assert "'second'" in reply
        assert "no longer has" in reply
        assert SECOND_BRANCH in caplog.text
        assert not [e for e in rig.simulator.logged_requests() if e["method"] == "PATCH"]
        [ephemeral] = [m for m in await rig.store.run(slack_table.outbox) if m.kind == "ephemeral"]
        assert ephemeral.payload["text"] == reply
