"""An owner's digest in Slack: rendered within Block Kit's limits, posted to the owner's
channel through the outbox, and its Approve and Keep controls work on the fake Slack."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from governor.config.owners import OwnerContact
from governor.digest.send import owners_to_reach, send_digests
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, REPORTS
from governor.notify.documents import Digest, DigestItem
from governor.remediate.cycle import apply_plan
from governor.slack.channel import SlackChannel
from governor.slack.digest_message import digest_message
from governor.slack.messages import MAX_BLOCKS, MAX_TOTAL_TEXT, text_length
from governor.slack.service import SlackService
from governor.store import audit_log, remediations
from governor.store import digests as digest_rows
from governor.store import slack as slack_table
from tests.remediate.harness import rig, shipped
from tests.slack.harness import eventually, service_for, settings_for

pytestmark = pytest.mark.anyio
HOSTILE = "<!channel> <https://evil.example|Approve> & `x`"
PLATFORM = OwnerContact(name="platform", slack_channel=REPORTS.id, slack_users=[ALICE.id])


def item(number: int, **changes: Any) -> DigestItem:
    values: dict[str, Any] = {
        "fingerprint": f"fp-{number}",
        "policy": "stale-branches",
        "severity": "medium",
        "resource_type": "branch",
        "resource_id": f"br-{number}",
        "name": f"preview/{number}",
        "org_id": "org-a",
        "project_id": "pr-1",
        "summary": "no activity for 40 days",
        "status": "new",
        "usd": float(number),
        "estimate_kind": "estimated",
        "action": "delete",
        "console_url": f"https://console.neon.tech/app/projects/pr-1/branches/br-{number}",
        "finding_id": number,
    }
    return DigestItem(**(values | changes))


def digest(items: list[DigestItem], **changes: Any) -> Digest:
    values: dict[str, Any] = {
        "owner": "web",
        "created_at": "2026-11-08T09:00:00+00:00",
        "since": "2026-11-01T09:00:00.000000+00:00",
        "items": tuple(items),
        "open_count": len(items),
        "new_count": len(items),
        "resolved_count": 0,
        "total_usd": 123.45,
    }
    return Digest(**(values | changes))


def test_a_long_digest_stays_within_slacks_limits_and_counts_what_it_left_out() -> None:
    items = [item(n, approval_token=f"tok-{n}", remediation_id=n) for n in range(1, 61)]
    message = digest_message(digest(items, open_count=80, truncated=20))
    assert len(message.blocks) <= MAX_BLOCKS
    assert text_length(message.blocks) <= MAX_TOTAL_TEXT
    shown = sum(1 for block in message.blocks if block["type"] == "actions")
    assert shown < 60
    assert f"+{60 - shown + 20} more open finding(s)" in str(message.blocks[-1])


def test_names_from_neon_are_escaped_in_the_digest() -> None:
    hostile = item(1, name=HOSTILE, summary=HOSTILE, console_url="https://x.example/a|b>c")
    resolved = item(2, name=HOSTILE, status="resolved")
    message = digest_message(digest([hostile, resolved], resolved_count=1))
    text = str(message.blocks)
    assert "<!channel>" not in text
    assert "<https://evil" not in text
    assert "&lt;!channel&gt;" in text
    assert "https://x.example/a%7Cb%3Ec|" in text  # the link cannot be ended early


def test_each_item_has_keep_and_only_items_awaiting_approval_have_approve() -> None:
    message = digest_message(digest([item(1), item(2, approval_token="tok-2", remediation_id=9)]))
    selects = [str(b) for b in message.blocks if "neon_keep" in str(b)]
    assert len(selects) == 2
    assert "'value': 'keep:1:7d'" in selects[0]
    approves = [b for b in message.blocks if b["type"] == "actions"]
    assert len(approves) == 1
    assert approves[0]["elements"][0]["action_id"] == "neon_approve"
    assert approves[0]["elements"][0]["value"] == "tok-2"


async def test_an_owner_without_a_slack_channel_gets_no_slack_digest(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        channel = SlackChannel(
            service.notifier, service.approvals, contacts={"web": OwnerContact(name="web")}.get
        )
        assert await channel.digest(digest([item(1)])) == []
        assert await SlackChannel(service.notifier, service.approvals).digest(digest([])) == []
        assert await r.store.run(slack_table.outbox) == []


@contextlib.asynccontextmanager
async def connected(service: SlackService, fake: FakeSlack) -> AsyncIterator[None]:
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


async def test_the_owners_digest_reaches_their_channel_with_approve_and_a_working_keep(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        planned = await apply_plan(await r.plan(), executor=r.executor(), run_id=None)
        await service.approvals.request(planned.requested)
        channel = SlackChannel(
            service.notifier, service.approvals, contacts={"platform": PLATFORM}.get
        )
        async with connected(service, fake_slack):
            [outcome] = await send_digests(
                r.store,
                channel,
                owners_to_reach([PLATFORM], "platform"),
                default="platform",
                now=r.now(),
                top=25,
            )
            assert outcome.channels == (f"slack:{REPORTS.id}",)

            async def posted() -> Any:
                found = [m for m in fake_slack.log.messages(REPORTS.id) if not m.is_reply]
                return found[0] if found else None

            message = await eventually(posted, what="the digest in the owner's channel")
            text = str(message.blocks)
            assert "Neon digest for platform" in text
            assert f"<@{ALICE.id}>" in text
            waiting = [x for x in outcome.digest.items if x.approval_token is not None]
            assert waiting, "approve mode leaves requests waiting: the digest offers Approve"
            # the posted digest is known to hold each of its requests' tokens
            for listed in waiting:
                assert listed.approval_token is not None
                assert await r.store.run(
                    digest_rows.posted_with_approval,
                    channel=REPORTS.id,
                    ts=message.ts,
                    token=listed.approval_token,
                )
            assert not await r.store.run(
                digest_rows.posted_with_approval, channel=REPORTS.id, ts=message.ts, token="x"
            )
            finding_ids = [x.finding_id for x in outcome.digest.items if x.approval_token is None]
            keep_id = finding_ids[0] if finding_ids else outcome.digest.items[0].finding_id
            envelope = await asyncio.to_thread(
                fake_slack.click,
                channel=REPORTS.id,
                ts=message.ts,
                action_id="neon_keep",
                user=ALICE.id,
                value=f"keep:{keep_id}:7d",
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def kept() -> list[Any] | None:
                entries = await r.store.run(audit_log.entries)
                found = [
                    e
                    for e in entries
                    if e.event.startswith("slack_") and e.details.get("action") == "keep"
                ]
                return found or None

            [keep] = await eventually(kept, what="the digest's Keep to be decided")
            assert keep.event == "slack_accepted", keep.details
            assert keep.details["value"] == f"keep:{keep_id}:7d"


async def test_an_approvers_click_on_approve_in_a_digest_approves_that_request(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        planned = await apply_plan(await r.plan(), executor=r.executor(), run_id=None)
        await service.approvals.request(planned.requested)
        channel = SlackChannel(
            service.notifier, service.approvals, contacts={"platform": PLATFORM}.get
        )
        async with connected(service, fake_slack):
            [outcome] = await send_digests(
                r.store,
                channel,
                owners_to_reach([PLATFORM], "platform"),
                default="platform",
                now=r.now(),
                top=25,
            )

            async def posted() -> Any:
                found = [m for m in fake_slack.log.messages(REPORTS.id) if not m.is_reply]
                return found[0] if found else None

            message = await eventually(posted, what="the digest in the owner's channel")
            # the fake presses the message's first Approve: the first item awaiting one
            first = next(x for x in outcome.digest.items if x.approval_token is not None)
            assert first.remediation_id is not None
            envelope = await asyncio.to_thread(
                fake_slack.click,
                channel=REPORTS.id,
                ts=message.ts,
                action_id="neon_approve",
                user=ALICE.id,
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def decided() -> bool:
                record = await r.store.run(remediations.get, first.remediation_id)
                return record.state != "awaiting_approval"

            await eventually(decided, what="the digest's Approve to decide its request")
        others = [x.id for x in planned.requested if x.id != first.remediation_id]
        for other in others:  # one click decides exactly the request it carried
            assert (await r.store.run(remediations.get, other)).state == "awaiting_approval"
