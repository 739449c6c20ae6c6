"""Slack against the fake over loopback, wired to the remediation rig's simulator and store.

Waiting is always on a condition with a generous deadline (never sleep-and-assert): the
fake's log, the store's rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, BOB
from governor.slack.service import SlackService, web_client
from governor.slack.settings import SlackSettings
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
