"""conversations.history and conversations.replies, as the "was it posted?" check reads them.

Why: before posting a report or an approval, the integration looks for its own earlier
message (by metadata, with include_all_metadata, or by a marker in the text). History is
therefore the current version of each message, newest first, top level only (thread
replies only when broadcast), with Slack's oldest/latest/inclusive window and cursors.
"""

from __future__ import annotations

import base64

from governor.fake_slack.chat import channel_for_reading, render
from governor.fake_slack.context import Context
from governor.fake_slack.ids import ts_key
from governor.fake_slack.log import JsonDict, Message
from governor.fake_slack.params import Params, SlackError, flag, integer, required, text


def _bound(params: Params, name: str) -> tuple[int, int] | None:
    value = text(params, name)
    if value is None:
        return None
    try:
        return ts_key(value)
    except ValueError:
        raise SlackError(f"invalid_ts_{name}") from None


def _window(params: Params, messages: list[Message]) -> list[Message]:
    oldest, latest = _bound(params, "oldest"), _bound(params, "latest")
    inclusive = flag(params, "inclusive")

    def inside(message: Message) -> bool:
        key = ts_key(message.ts)
        if oldest is not None and (key < oldest or (key == oldest and not inclusive)):
            return False
        return latest is None or key < latest or (key == latest and inclusive)

    return [message for message in messages if inside(message)]


def _page(params: Params, messages: list[Message], default_limit: int) -> tuple[list[Message], str]:
    """Slack's cursor pagination: the cursor names the first ts of the next page."""
    limit = max(1, min(integer(params, "limit", default_limit), 999))
    start = 0
    cursor = text(params, "cursor")
    if cursor is not None:
        try:
            wanted = base64.b64decode(cursor, validate=True).decode().removeprefix("next_ts:")
        except (ValueError, UnicodeDecodeError):
            raise SlackError("invalid_cursor") from None
        start = next((i for i, m in enumerate(messages) if m.ts == wanted), -1)
        if start < 0:
            raise SlackError("invalid_cursor")
    page = messages[start : start + limit]
    rest = messages[start + limit :]
    next_cursor = base64.b64encode(f"next_ts:{rest[0].ts}".encode()).decode() if rest else ""
    return page, next_cursor


def history(ctx: Context, params: Params) -> JsonDict:
    channel = channel_for_reading(ctx, params)
    visible = [
        message
        for message in ctx.log.messages(channel.id)
        if not message.is_reply or message.reply_broadcast
    ]
    newest_first = list(reversed(_window(params, visible)))
    page, next_cursor = _page(params, newest_first, 100)
    include = flag(params, "include_all_metadata")
    answer: JsonDict = {
        "messages": [render(ctx, m, include_metadata=include) for m in page],
        "has_more": bool(next_cursor),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    if next_cursor:
        answer["response_metadata"] = {"next_cursor": next_cursor}
    return answer


def replies(ctx: Context, params: Params) -> JsonDict:
    channel = channel_for_reading(ctx, params)
    ts = required(params, "ts", "thread_not_found")
    parent = ctx.log.find_message(channel.id, ts)
    if parent is None:
        raise SlackError("thread_not_found")
    if parent.is_reply:
        parent = ctx.log.message(channel.id, parent.thread_ts or "")
    thread = [parent, *ctx.log.replies(channel.id, parent.ts)]
    page, next_cursor = _page(params, _window(params, thread), 1000)
    include = flag(params, "include_all_metadata")
    answer: JsonDict = {
        "messages": [render(ctx, m, include_metadata=include) for m in page],
        "has_more": bool(next_cursor),
    }
    if next_cursor:
        answer["response_metadata"] = {"next_cursor": next_cursor}
    return answer


def info(ctx: Context, params: Params) -> JsonDict:
    """conversations.info: a public channel answers even to a bot outside it (``is_member``
    false, as ``doctor`` reads it); a private one the bot is not in is channel_not_found."""
    channel_id = required(params, "channel", "channel_not_found")
    channel = next((c for c in ctx.workspace.channels if c.id == channel_id), None)
    if channel is None or (channel.is_private and not channel.bot_is_member):
        raise SlackError("channel_not_found")
    return {
        "channel": {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private,
            "is_group": False,
            "is_private": channel.is_private,
            "is_archived": False,
            "is_member": channel.bot_is_member,
        }
    }
