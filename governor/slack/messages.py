"""What every Slack message is made of: the message itself, safe mrkdwn, and Block Kit pieces.

Why one place: names, summaries and errors come from Neon (or whoever answers at the API
URL), and mrkdwn turns ``<!channel>`` into a ping and ``<https://evil|Approve>`` into a link.
Everything that goes into a text object passes ``escape``; every length passes ``fit``, so
no input can push a block past Slack's limits (``invalid_blocks`` loses the whole message).
The report lives in ``report_message``, the approval in ``approval_message``; both are pure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from governor.report.text import printable

# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks, slack_sdk validators).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONFIRM_TEXT = 300
# Slack refuses a message whose blocks hold more than about 13,000 characters in all
# (``msg_blocks_too_long``, undocumented); stay well below it.
MAX_TOTAL_TEXT = 11_000
# The notification line: Slack truncates ``text`` at 40,000; a notification shows far less.
MAX_FALLBACK_TEXT = 1000

KEEP_ACTION = "neon_keep"
KEEP_OPTIONS = (("Keep 7 days", "7d"), ("Keep 30 days", "30d"))
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,31}")
_ENTITY = re.compile(r"&(amp|lt|gt);")


@dataclass(frozen=True)
class SlackMessage:
    """``chat.postMessage``/``chat.update`` arguments: ``text`` is the notification line."""

    text: str
    blocks: list[dict[str, Any]]


def escape(value: object) -> str:
    """``value`` as inert mrkdwn: control characters shown as escapes, ``& < >`` as entities.

    Slack parses ``<...>`` as links and mentions; escaped, a name like ``<!channel>``
    shows as text. Newlines become visible escapes too, so a name stays on its line.
    """
    text = printable(str(value))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    amp = cut.rfind("&", max(len(cut) - 4, 0))
    if amp != -1 and not _ENTITY.match(cut, amp):
        cut = cut[:amp]
    return cut + "…"


def safe(value: object, limit: int) -> str:
    """Untrusted text, escaped and cut to ``limit``."""
    return fit(escape(value), limit)


def mention(user_id: str | None) -> str | None:
    """``<@U…>`` for a well-formed user id; anything else is not ours to render as a ping."""
    if user_id is None or not _USER_ID.fullmatch(user_id):
        return None
    return f"<@{user_id}>"


def user_list(user_ids: Sequence[str]) -> str:
    """Mentions for the well-formed ids (others shown escaped, never as pings)."""
    return ", ".join(mention(str(user)) or safe(user, 40) for user in user_ids)


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object; only ever given our own words (never Neon's)."""
    return {"type": "plain_text", "text": fit(text, limit), "emoji": True}


def section(text: str, *, accessory: dict[str, Any] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": mrkdwn(fit(text, MAX_SECTION_TEXT))}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def fields_section(fields: list[str]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [mrkdwn(fit(text, MAX_FIELD_TEXT)) for text in fields[:MAX_FIELDS]],
    }


def context(*texts: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "context",
        "elements": [mrkdwn(fit(text, MAX_SECTION_TEXT)) for text in texts[:MAX_CONTEXT_ELEMENTS]],
    }
    if block_id is not None:
        block["block_id"] = fit(block_id, 255)
    return block


def keep_select(value_prefix: str) -> dict[str, Any]:
    """The snooze control: one select (action_id ``neon_keep``) with 7- and 30-day options.

    One element, not two buttons: Slack wants action_ids unique within a block, and a
    section has room for one accessory. The handler reads ``selected_option.value``.
    """
    return {
        "type": "static_select",
        "action_id": KEEP_ACTION,
        "placeholder": plain("Keep…", 150),
        "options": [
            {"text": plain(label, 75), "value": f"{value_prefix}:{suffix}"}
            for label, suffix in KEEP_OPTIONS
        ],
    }


def text_length(blocks: list[dict[str, Any]]) -> int:
    """Characters in every text of ``blocks``: what ``msg_blocks_too_long`` counts."""
    total = 0
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            total += len(text.get("text", ""))
        for item in [*block.get("fields", []), *block.get("elements", [])]:
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                total += len(item["text"])
    return total


def money(value: float | None) -> str:
    return "—" if value is None else f"${value:,.2f}"


def code(value: object, limit: int) -> str:
    """Untrusted text as inline code; a backtick inside would end the span early."""
    return "`" + safe(value, limit).replace("`", "'") + "`"


def utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken as UTC already (the store writes UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
