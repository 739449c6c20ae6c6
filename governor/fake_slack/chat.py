"""chat.postMessage, chat.update, chat.postEphemeral, and how a message is rendered.

Why these semantics: the integration replaces approval buttons with chat.update and
posts the CSV in the report's thread, so an update keeps what it was not given (Slack
keeps the blocks when chat.update sends only text), every version is kept for tests, and
a message's first reply makes it a thread parent. Channels are checked as Slack does: a
private channel without the bot does not exist, a public one is ``not_in_channel``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from governor.fake_slack import blocks as block_kit
from governor.fake_slack.context import Context
from governor.fake_slack.ids import ts_key
from governor.fake_slack.log import Ephemeral, JsonDict, Message, MessageVersion
from governor.fake_slack.params import (
    Params,
    SlackError,
    flag,
    required,
    structured,
    text,
)
from governor.fake_slack.workspace import Channel

MAX_TEXT = 40_000


def channel_for_posting(ctx: Context, params: Params) -> Channel:
    key = required(params, "channel", "channel_not_found")
    channel = ctx.workspace.channel(key)
    if channel is None or (channel.is_private and not channel.bot_is_member):
        raise SlackError("channel_not_found")
    if not channel.bot_is_member:
        raise SlackError("not_in_channel")
    return channel


def channel_for_reading(ctx: Context, params: Params) -> Channel:
    """Reading takes IDs only; a channel the bot is not in is not_in_channel."""
    channel_id = required(params, "channel", "channel_not_found")
    channel = next((c for c in ctx.workspace.channels if c.id == channel_id), None)
    if channel is None or (channel.is_private and not channel.bot_is_member):
        raise SlackError("channel_not_found")
    if not channel.bot_is_member:
        raise SlackError("not_in_channel")
    return channel


def _content(
    params: Params, *, need_content: bool
) -> tuple[str | None, list[Any] | None, list[Any] | None]:
    """(text, blocks, attachments) as given, checked against Slack's limits."""
    message_text = text(params, "text")
    given_blocks = structured(params, "blocks", "invalid_blocks_format")
    if given_blocks is not None and not isinstance(given_blocks, list):
        raise SlackError("invalid_blocks_format")
    if given_blocks:
        found = block_kit.problems(given_blocks)
        if found:
            raise SlackError(
                "invalid_blocks",
                errors=found,
                response_metadata={"messages": [f"[ERROR] {p}" for p in found]},
            )
    attachments = structured(params, "attachments", "invalid_attachments")
    if need_content and not message_text and not given_blocks and not attachments:
        raise SlackError("no_text")
    if message_text is not None and len(message_text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    if attachments is not None and not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    return message_text, given_blocks, attachments


def _metadata(params: Params) -> JsonDict | None:
    metadata = structured(params, "metadata", "invalid_metadata_format")
    if metadata is None:
        return None
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload", {}), dict)
    ):
        raise SlackError("invalid_metadata_format")
    return {
        "event_type": metadata["event_type"],
        "event_payload": metadata.get("event_payload", {}),
    }


def render(ctx: Context, message: Message, *, include_metadata: bool = True) -> JsonDict:
    """A message as the Web API shows it (chat.* answers, history, replies)."""
    shown: JsonDict = {"type": "message", "text": message.text, "user": message.user}
    if message.reply_broadcast:
        shown["subtype"] = "thread_broadcast"
    if message.bot_id:
        shown["bot_id"] = message.bot_id
        shown["app_id"] = message.app_id
    shown["ts"] = message.ts
    shown["team"] = ctx.workspace.team_id
    if message.blocks:
        shown["blocks"] = [dict(block) for block in message.blocks]
    if message.attachments:
        shown["attachments"] = [dict(a) for a in message.attachments]
    if message.files:
        shown["files"] = [_file_summary(ctx, file_id) for file_id in message.files]
        shown["upload"] = True
    if message.client_msg_id:
        shown["client_msg_id"] = message.client_msg_id
    if message.edited_ts:
        shown["edited"] = {"user": message.user, "ts": message.edited_ts}
    if message.thread_ts:
        shown["thread_ts"] = message.thread_ts
        if message.is_reply:
            shown["parent_user_id"] = _parent_user(ctx, message)
        else:
            replies = ctx.log.replies(message.channel, message.ts)
            users = sorted({reply.user for reply in replies})
            shown.update(
                reply_count=len(replies),
                reply_users_count=len(users),
                latest_reply=replies[-1].ts if replies else message.ts,
                reply_users=users,
            )
    if include_metadata and message.metadata is not None:
        shown["metadata"] = dict(message.metadata)
    return shown


def _parent_user(ctx: Context, reply: Message) -> str:
    parent = ctx.log.find_message(reply.channel, reply.thread_ts or "")
    return parent.user if parent else reply.user


def _file_summary(ctx: Context, file_id: str) -> JsonDict:
    file = ctx.log.file(file_id)
    name = file.filename if file else file_id
    return {"id": file_id, "name": name, "title": (file.title if file else None) or name}


def post_message(ctx: Context, params: Params) -> JsonDict:
    channel = channel_for_posting(ctx, params)
    message_text, given_blocks, attachments = _content(params, need_content=True)
    thread_ts = text(params, "thread_ts")
    if thread_ts is not None:
        try:
            ts_key(thread_ts)
        except ValueError:
            raise SlackError("invalid_thread_ts") from None
        # Kept as given even when it names no parent (or a reply): the reply then shows
        # in no thread, which is what a test should notice.
    ts = ctx.ids.ts()
    message = Message(
        channel=channel.id,
        ts=ts,
        text=message_text or "",
        blocks=tuple(given_blocks or ()),
        user=ctx.workspace.bot_user_id,
        bot_id=ctx.workspace.bot_id,
        app_id=ctx.workspace.app_id,
        thread_ts=thread_ts,
        reply_broadcast=thread_ts is not None and flag(params, "reply_broadcast"),
        metadata=_metadata(params),
        client_msg_id=text(params, "client_msg_id"),
        attachments=tuple(attachments or ()),
    )
    message = dataclasses.replace(
        message, versions=(MessageVersion(message.text, message.blocks, ts),)
    )
    if thread_ts is not None:
        start_thread(ctx, channel.id, thread_ts)
    ctx.log.put_message(message)
    return {"channel": channel.id, "ts": ts, "message": render(ctx, message)}


def start_thread(ctx: Context, channel_id: str, thread_ts: str) -> None:
    """A message that gets its first reply becomes a thread parent (its thread_ts = ts)."""
    parent = ctx.log.find_message(channel_id, thread_ts)
    if parent is not None and parent.thread_ts is None:
        ctx.log.put_message(dataclasses.replace(parent, thread_ts=parent.ts))


def update(ctx: Context, params: Params) -> JsonDict:
    channel = channel_for_reading(ctx, params)
    ts = required(params, "ts", "message_not_found")
    current = ctx.log.find_message(channel.id, ts)
    if current is None:
        raise SlackError("message_not_found")
    if current.bot_id != ctx.workspace.bot_id:
        raise SlackError("cant_update_message")
    message_text, given_blocks, _ = _content(params, need_content=False)
    if message_text is None and given_blocks is None:
        raise SlackError("no_text")
    metadata = _metadata(params)
    edited_ts = ctx.ids.ts()
    new_text = message_text if message_text is not None else current.text
    new_blocks = tuple(given_blocks) if given_blocks is not None else current.blocks
    updated = dataclasses.replace(
        current,
        text=new_text,
        blocks=new_blocks,
        metadata=metadata if metadata is not None else current.metadata,
        edited_ts=edited_ts,
        versions=(*current.versions, MessageVersion(new_text, new_blocks, edited_ts)),
    )
    ctx.log.put_message(updated)
    return {
        "channel": channel.id,
        "ts": ts,
        "text": updated.text,
        "message": render(ctx, updated),
    }


def post_ephemeral(ctx: Context, params: Params) -> JsonDict:
    channel = channel_for_posting(ctx, params)
    user_id = required(params, "user", "user_not_in_channel")
    if user_id not in channel.members:
        raise SlackError("user_not_in_channel")
    message_text, given_blocks, _ = _content(params, need_content=True)
    ts = ctx.ids.ts()
    ctx.log.add_ephemeral(
        Ephemeral(
            channel.id,
            user_id,
            ts,
            message_text or "",
            tuple(given_blocks or ()),
            text(params, "thread_ts"),
        )
    )
    return {"message_ts": ts}
