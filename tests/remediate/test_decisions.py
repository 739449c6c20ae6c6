"""People's decisions: a "no" that works from every place a person says it, and decisions
that say once, plainly, what already happened.

Why these: ``reject`` of a pending request failed everywhere (CLI, Slack Reject, Keep) with
``no transition approved -> rejected``, because the store checked every expected state's
transition instead of the one the row was in; and no test rejected a pending request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE
from governor.model.changes import Change
from governor.remediate import decisions
from governor.remediate.cycle import apply_plan
from governor.remediate.errors import RemediationError
from governor.slack.service import SlackService
from governor.store import Store, StoreError, remediations
from governor.store import slack as slack_table
from governor.store.remediations import NewRemediation, RemediationState
from tests.fake_slack.fixtures import fake_slack  # noqa: F401  (the fixture)
from tests.remediate.harness import rig, shipped
from tests.remediate.world import NEVER_SUSPENDS
from tests.slack.harness import eventually, service_for, settings_for

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _new(state: RemediationState, resource_id: str = "ep-1") -> NewRemediation:
    return NewRemediation(
        account="default",
        policy="oversized-computes",
        mode="approve",
        findings=[{"finding_id": 1, "policy": "oversized-computes", "fingerprint": "f"}],
        resource_type="endpoint",
        resource_id=resource_id,
        org_id="org-a",
        project_id="p1",
        resource_name=resource_id,
        change=Change("update_endpoint", {"autoscaling_limit_min_cu": 0.25}),
        before={"autoscaling_limit_min_cu": 8},
        after={"autoscaling_limit_min_cu": 0.25},
        disruptive=False,
        irreversible=False,
        why="oversized",
        estimate_usd=120.0,
        state=state,
    )


@contextlib.asynccontextmanager
async def _store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open_async(tmp_path / "governor.db") as store:
        yield store


async def test_reject_of_a_pending_request_ends_rejected(tmp_path: Path) -> None:
    async with _store(tmp_path) as store:
        record, _ = await store.run(remediations.add, _new("awaiting_approval"), now=NOW)
        rejected = await decisions.reject(
            store, record.id, actor="cli:carol", reason="too risky", now=NOW
        )
        assert rejected.state == "rejected"
        assert rejected.decided_by == "cli:carol"
        assert rejected.reason == "rejected by cli:carol: too risky"


async def test_reject_of_an_approved_request_withdraws_it_as_skipped(tmp_path: Path) -> None:
    async with _store(tmp_path) as store:
        record, _ = await store.run(remediations.add, _new("awaiting_approval"), now=NOW)
        await decisions.approve(store, record.id, actor="cli:alice", now=NOW)
        withdrawn = await decisions.reject(store, record.id, actor="cli:bob", reason=None, now=NOW)
        assert withdrawn.state == "skipped"
        assert withdrawn.reason == "approval withdrawn by cli:bob"


async def test_reject_of_a_decided_remediation_changes_nothing_and_says_who_decided(
    tmp_path: Path,
) -> None:
    async with _store(tmp_path) as store:
        record, _ = await store.run(remediations.add, _new("awaiting_approval"), now=NOW)
        await decisions.reject(store, record.id, actor="cli:carol", reason="no", now=NOW)
        with pytest.raises(RemediationError) as raised:
            await decisions.reject(store, record.id, actor="cli:dave", reason=None, now=NOW)
        assert str(raised.value) == (
            f"remediation {record.id} is already rejected by cli:carol (no); nothing was changed"
        )


async def test_approving_twice_says_who_approved_once(tmp_path: Path) -> None:
    async with _store(tmp_path) as store:
        record, _ = await store.run(remediations.add, _new("awaiting_approval"), now=NOW)
        await decisions.approve(store, record.id, actor="cli:root", now=NOW)
        with pytest.raises(RemediationError) as raised:
            await decisions.approve(store, record.id, actor="cli:root", now=NOW)
        message = str(raised.value)
        assert message == (
            f"remediation {record.id} is already approved by cli:root; nothing was changed"
        )
        assert message.count("cli:root") == 1


def test_a_move_is_checked_from_the_state_the_row_is_in(tmp_path: Path) -> None:
    """Listing a state that does not lead to ``to`` is harmless when the row is elsewhere."""
    with Store.open(tmp_path / "g.db") as store:
        pending, _ = store.call(remediations.add, _new("awaiting_approval", "ep-1"), now=NOW)
        moved = store.call(
            remediations.move,
            pending.id,
            expected=["awaiting_approval", "approved"],
            to="rejected",
            now=NOW,
        )
        assert moved is not None
        assert moved.state == "rejected"
        approved, _ = store.call(remediations.add, _new("awaiting_approval", "ep-2"), now=NOW)
        store.call(
            remediations.move, approved.id, expected=["awaiting_approval"], to="approved", now=NOW
        )
        with pytest.raises(StoreError, match="no transition approved -> rejected"):
            store.call(
                remediations.move,
                approved.id,
                expected=["awaiting_approval", "approved"],
                to="rejected",
                now=NOW,
            )
        # a row in none of the expected states: the compare-and-set simply loses
        assert (
            store.call(
                remediations.move, approved.id, expected=["planned"], to="executing", now=NOW
            )
            is None
        )


@contextlib.asynccontextmanager
async def _connected(service: SlackService, fake: FakeSlack) -> AsyncIterator[None]:
    """Socket Mode and the outbox sender running, as the daemon runs them."""
    stopping = asyncio.Event()
    tasks = [
        asyncio.create_task(service.run_socket(stopping)),
        asyncio.create_task(service.sender().run(stopping, idle_seconds=0.05)),
    ]
    await asyncio.to_thread(fake.wait_for_connection)
    try:
        yield
    finally:
        stopping.set()
        await asyncio.wait(tasks, timeout=20)


async def test_a_slack_reject_click_on_a_pending_request_ends_rejected_and_sends_nothing(
    tmp_path: Path,
    fake_slack: FakeSlack,  # noqa: F811  (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with _connected(service, fake_slack):
            result = await apply_plan(await r.plan(), executor=r.executor(), run_id=None)
            await service.approvals.request(result.requested)
            record = next(x for x in result.requested if x.resource_id == NEVER_SUSPENDS)

            async def posted() -> tuple[str, str] | None:
                approval = await service.store.run(slack_table.approval_for, record.id)
                if approval is None or approval.ts is None or approval.channel is None:
                    return None
                return approval.channel, approval.ts

            channel, ts = await eventually(posted, what="the approval message")
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_reject", user=ALICE.id
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def rejected() -> Any:
                current = await r.store.run(remediations.get, record.id)
                return current if current.state == "rejected" else None

            current = await eventually(rejected, what="the request to be rejected")
            assert current.decided_by == f"slack:{ALICE.id}"
        assert r.mutations(ok_only=False) == []
