"""The three steps of slack_sdk's ``files_upload_v2``, with the upload URL served here.

Why all three: the integration attaches the findings CSV in the report's thread, and
each step fails in its own way live (``channel_not_found`` for a name instead of an ID,
bytes never sent, a thread_ts that is a reply). Completing a share also puts a file
message in the thread, as Slack does, so history and replies show it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from governor.fake_slack.chat import channel_for_reading, start_thread
from governor.fake_slack.context import Context
from governor.fake_slack.log import JsonDict, Message, MessageVersion, UploadedFile
from governor.fake_slack.params import (
    Params,
    SlackError,
    integer,
    invalid_arguments,
    required,
    structured,
    text,
)

UPLOAD_PATH = "/upload/v1/"


def get_upload_url(ctx: Context, params: Params) -> JsonDict:
    filename = required(params, "filename")
    length = integer(params, "length", -1)
    if length < 0:
        raise invalid_arguments("missing required field: length")
    file = UploadedFile(
        id=ctx.ids.serial("F"),
        filename=filename,
        length=length,
        upload_key=ctx.ids.secret(),
        alt_txt=text(params, "alt_txt"),
        snippet_type=text(params, "snippet_type"),
    )
    ctx.log.put_file(file)
    return {"upload_url": f"{ctx.http_root}{UPLOAD_PATH}{file.upload_key}", "file_id": file.id}


def receive_upload(ctx: Context, key: str, content: bytes) -> bool:
    """The bytes POSTed to an upload URL; False for a URL the fake never issued."""
    file = ctx.log.file_by_upload_key(key)
    if file is None or file.completed:
        return False
    ctx.log.put_file(dataclasses.replace(file, content=content))
    return True


def complete_upload(ctx: Context, params: Params) -> JsonDict:
    wanted = structured(params, "files", "invalid_arguments")
    if not isinstance(wanted, list) or not wanted:
        raise invalid_arguments("files must be a non-empty array of {id, title}")
    files = [_uploaded(ctx, item) for item in wanted]
    channel_id, thread_ts = text(params, "channel_id"), text(params, "thread_ts")
    channels = [c for c in (text(params, "channels") or "").split(",") if c]
    if channel_id is not None:
        channels.insert(0, channel_id)
    if thread_ts is not None and len(channels) != 1:
        raise invalid_arguments("thread_ts needs exactly one channel")
    targets = [channel_for_reading(ctx, {"channel": c}).id for c in channels]
    comment = text(params, "initial_comment")
    done = [
        dataclasses.replace(
            file,
            title=title,
            channel_id=targets[0] if targets else None,
            thread_ts=thread_ts,
            initial_comment=comment,
            completed=True,
        )
        for file, title in files
    ]
    for file in done:
        ctx.log.put_file(file)
    for target in targets:
        _share(ctx, target, thread_ts, comment or "", tuple(f.id for f in done))
    return {"files": [{"id": f.id, "title": f.title} for f in done]}


def _uploaded(ctx: Context, item: Any) -> tuple[UploadedFile, str]:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        raise invalid_arguments("each file needs an id")
    file = ctx.log.file(item["id"])
    if file is None or file.completed or file.content is None:
        raise SlackError("file_not_found")
    title = item.get("title")
    return file, title if isinstance(title, str) and title else file.filename


def _share(
    ctx: Context, channel_id: str, thread_ts: str | None, comment: str, file_ids: tuple[str, ...]
) -> None:
    ts = ctx.ids.ts()
    message = Message(
        channel=channel_id,
        ts=ts,
        text=comment,
        blocks=(),
        user=ctx.workspace.bot_user_id,
        bot_id=ctx.workspace.bot_id,
        app_id=ctx.workspace.app_id,
        thread_ts=thread_ts,
        files=file_ids,
        versions=(MessageVersion(comment, (), ts),),
    )
    if thread_ts is not None:
        start_thread(ctx, channel_id, thread_ts)
    ctx.log.put_message(message)
