"""Incoming webhooks: ``POST /services/T…/B…/<secret>`` posts into one fixed channel.

Why in the fake: the report-only mode (``[slack] webhook_url``) must be tested against the
same checks Slack applies (Block Kit limits; a wrong secret is ``no_service``); a webhook
answers plain text (``ok`` or the error), never JSON, and has no ``ts`` to update.
"""

from __future__ import annotations

from typing import Any

from governor.fake_slack.blocks import problems
from governor.fake_slack.context import Context
from governor.fake_slack.log import Message, MessageVersion

WEBHOOK_PATH = "/services/{team}/{bot}/{secret}"
WEBHOOK_SECRET = "fake-webhook-secret"


def receive(ctx: Context, secret: str, body: Any) -> tuple[int, str]:
    """(status, text) as Slack answers a webhook post."""
    if secret != WEBHOOK_SECRET:
        return 404, "no_service"
    if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
        return 400, "no_text"
    blocks = body.get("blocks") or []
    if not isinstance(blocks, list) or problems(blocks):
        return 400, "invalid_blocks"
    channel = ctx.workspace.channels[0].id
    ts = ctx.ids.ts()
    text = str(body.get("text", ""))
    ctx.log.put_message(
        Message(
            channel=channel,
            ts=ts,
            text=text,
            blocks=tuple(blocks),
            user=ctx.workspace.bot_user_id,
            bot_id=ctx.workspace.bot_id,
            versions=(MessageVersion(text, tuple(blocks), ts),),
        )
    )
    return 200, "ok"
