"""Issue 19's done-when for calm Slack: an approver's click shows its outcome while 100 other
messages wait in the outbox, against the fake Slack (real slack_sdk clients over loopback)
and the Neon simulator, wired as the daemon wires them (the outbox sender at Slack's one
post a second per channel, and the Socket Mode connection).

Asserted on ORDER in the fake's call log, never on how long anything took: the click's
updates (approved, then done) reach Slack before the flood of posts drains. Before the
priority lane they queued behind every post of their channel (100 s at one a second).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from governor.fake_slack import FakeSlack
from governor.fake_slack.log import Call
from governor.fake_slack.workspace import ALICE
from governor.remediate.cycle import apply_plan
from governor.slack.service import SlackService
from governor.store import remediations
from governor.store import slack as slack_table
from tests.remediate.harness import rig, shipped
from tests.remediate.world import NEVER_SUSPENDS
from tests.slack.harness import eventually, service_for, settings_for

pytestmark = pytest.mark.anyio
BULK = 100
BULK_TEXT = "bulk message"
# The click's feedback must overtake the queue: at most this many bulk posts before it
# (the posts the sender had in hand while the click was decided), never the whole queue.
AT_MOST_AHEAD = 5


@pytest.fixture
def app_token(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)


@contextlib.asynccontextmanager
async def daemon_slack(service: SlackService, fake: FakeSlack) -> AsyncIterator[None]:
    """The daemon's two long-running Slack jobs (slack:outbox and slack:socket)."""
    stopping = asyncio.Event()
    tasks = [
        asyncio.create_task(service.run_socket(stopping)),
        asyncio.create_task(service.sender().run(stopping)),
    ]
    await asyncio.to_thread(fake.wait_for_connection)
    try:
        yield
    finally:
        stopping.set()
        await asyncio.wait(tasks, timeout=20)


def _bulk_posts_before(calls: list[Call], index: int) -> int:
    return sum(
        1
        for call in calls[:index]
        if call.method == "chat.postMessage" and BULK_TEXT in str(call.params.get("text"))
    )


async def test_a_click_shows_its_outcome_before_a_queue_of_100_posts_drains(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        assert service.sender_interval == 1.0  # Slack's pace for posts, as in the daemon
        async with daemon_slack(service, fake_slack):
            result = await apply_plan(await r.plan(), executor=r.executor(), run_id=None)
            await service.approvals.request(result.requested)
            [record] = [x for x in result.requested if x.resource_id == NEVER_SUSPENDS]

            async def posted() -> slack_table.ApprovalMessage | None:
                found = await r.store.run(slack_table.approval_for, record.id)
                return found if found is not None and found.ts is not None else None

            approval = await eventually(posted, what="the approval request to be posted")
            assert approval.channel is not None
            assert approval.ts is not None
            for number in range(BULK):  # a flood queued in the same channel
                await r.store.run(
                    slack_table.enqueue,
                    kind="post",
                    channel=approval.channel,
                    payload={"text": f"{BULK_TEXT} {number}"},
                    now=r.now(),
                    ref="bulk",
                )
            envelope = await asyncio.to_thread(
                fake_slack.click,
                channel=approval.channel,
                ts=approval.ts,
                action_id="neon_approve",
                user=ALICE.id,
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            def outcome_shown(log: Any) -> Any:
                message = log.find_message(approval.channel, approval.ts)
                return message if message and "done" in str(message.blocks) else None

            await fake_slack.until(outcome_shown, timeout=60, what="the click's outcome")
            assert (await r.store.run(remediations.get, record.id)).state == "succeeded"
            calls = fake_slack.log.calls()

        updates = [
            index
            for index, call in enumerate(calls)
            if call.method == "chat.update" and call.params.get("ts") == approval.ts
        ]
        assert len(updates) >= 2  # "approved, running", then "done"
        ahead = _bulk_posts_before(calls, updates[-1])
        assert ahead <= AT_MOST_AHEAD, f"{ahead} bulk posts went before the click's outcome"
        assert _bulk_posts_before(calls, len(calls)) < BULK  # the queue had not drained


async def test_feedback_waits_only_for_its_parent_not_for_the_channels_bulk_posts(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """The store's order: priority first, each lane in id order per channel, a child only
    once its parent was sent; an older update a newer one overtook is dropped, not sent."""
    async with rig(tmp_path, policies=shipped("approve")) as r:
        now = r.now()

        async def enqueue(kind: Any, channel: str, **extra: Any) -> int:
            payload = {"text": f"{kind} {channel}"}
            return await r.store.run(
                slack_table.enqueue, kind=kind, channel=channel, payload=payload, now=now, **extra
            )

        parent = await enqueue("post", "C1")
        bulk = [await enqueue("post", "C1") for _ in range(3)]
        other = await enqueue("post", "C2")
        child = await enqueue("update", "C1", parent_id=parent, priority=1)
        due = [m.id for m in await r.store.run(slack_table.due, now=now)]
        assert due == [parent, other]  # the click's update waits for its parent only

        await r.store.run(slack_table.claim, parent, now=now)
        await r.store.run(slack_table.sent, parent, ts="1.1", channel="C1", now=now)
        stale = await enqueue("update", "C1", parent_id=parent)  # a bulk re-render
        later_reply = await enqueue("ephemeral", "C1", priority=1)
        due = [m.id for m in await r.store.run(slack_table.due, now=now)]
        assert due == [child, bulk[0], other]  # feedback first, then each channel's oldest

        fresh = await enqueue("update", "C1", parent_id=parent, priority=1)
        for sent in (child, fresh):
            await r.store.run(slack_table.claim, sent, now=now)
            await r.store.run(slack_table.sent, sent, ts="1.1", channel="C1", now=now)
        dropped = await r.store.run(slack_table.message, stale)
        assert (dropped.state, dropped.last_error) == (
            "cancelled",
            f"superseded by message {fresh}",
        )
        due = [m.id for m in await r.store.run(slack_table.due, now=now)]
        assert due == [later_reply, bulk[0], other]
