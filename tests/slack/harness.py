"""Slack against the fake over loopback, wired to the remediation rig's simulator and store.

Waiting is always on a condition with a generous deadline (never sleep-and-assert): the
fake's log, the store's rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from governor.config.slack import SlackSettings
from governor.fake_slack import FakeSlack, payloads
from governor.fake_slack.workspace import ALICE, APPROVALS, BOB
from governor.slack.service import SlackService, web_client
from tests.remediate.harness import Rig

T = TypeVar("T")
DEADLINE = 30.0


def settings_for(fake: FakeSlack, **changes: Any) -> SlackSettings:
    base: dict[str, Any] = {
        "channel": APPROVALS.id,
        "approvers": [ALICE.id, BOB.id],
        "api_url": fake.base_url,
    }
    return SlackSettings(**(base | changes))


def service_for(rig: Rig, fake: FakeSlack, settings: SlackSettings) -> SlackService:
    return SlackService(
        settings,
        rig.store,
        rig.now,
        web_client(settings, fake.bot_token),
        executor=rig.executor,
    )


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, what: str, deadline: float = DEADLINE
) -> T:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        found = await check()
        if found:
            return found
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def forged_click(
    fake: FakeSlack,
    *,
    channel: str,
    ts: str,
    user: str,
    value: str,
    action_id: str = "neon_approve",
    envelope_id: str | None = None,
) -> str:
    """A block_actions envelope for a button the message may not even have (forged, as an
    attacker sends it); returns its envelope_id once pushed."""
    payload = payloads.block_actions(
        team_id=fake.workspace.team_id,
        team_domain=fake.workspace.team_domain,
        app_id=fake.workspace.app_id,
        user_id=user,
        user_name="forger",
        channel_id=channel,
        channel_name=channel,
        message={"ts": ts, "text": "", "blocks": []},
        block_id="forged",
        element={"type": "button", "action_id": action_id, "value": value},
        action_ts=ts,
        trigger_id="1.2.forged",
        response_url=f"{fake.http_root}/nowhere",
    )
    envelope = payloads.envelope(
        "interactive",
        payload,
        envelope_id=envelope_id or f"forged-{user[:20]}-{value[:8]}",
        accepts_response_payload=False,
    )
    return fake.push(envelope)
