"""The ``response_url`` of a click or a slash command, served by the fake.

Why: Slack lets an app answer an interaction by POSTing to that URL (an ephemeral note
to the clicker, a reply in the channel, or replacing the clicked message). The fake
hands out URLs on its own host, logs every POST, and applies it as Slack would, so an
integration that uses it can be tested the same way as one using chat.update.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from governor.fake_slack.context import Context
from governor.fake_slack.log import Ephemeral, Message, MessageVersion, ResponseUrlPost


@dataclass(frozen=True)
class Target:
    channel: str
    user: str
    message_ts: str | None  # the clicked message; None for a slash command


class ResponseUrls:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._targets: dict[str, tuple[str, Target]] = {}  # key -> (secret, target)
        self._lock = threading.Lock()

    def issue(self, kind: str, target: Target) -> str:
        key, secret = self.ctx.ids.serial("R"), self.ctx.ids.secret()
        with self._lock:
            self._targets[key] = (secret, target)
        return f"{self.ctx.http_root}/{kind}/{self.ctx.workspace.team_id}/{key}/{secret}"

    def receive(self, kind: str, key: str, secret: str, body: Any) -> bool:
        """Apply one POST; False for a URL the fake never issued (Slack: 404)."""
        with self._lock:
            issued = self._targets.get(key)
        if issued is None or issued[0] != secret or not isinstance(body, dict):
            return False
        target = issued[1]
        self.ctx.log.add_response(ResponseUrlPost(kind, key, body))
        given = body.get("text")
        text = given if isinstance(given, str) else ""
        blocks = tuple(b for b in body.get("blocks") or () if isinstance(b, dict))
        original = (
            self.ctx.log.find_message(target.channel, target.message_ts)
            if target.message_ts
            else None
        )
        ts = self.ctx.ids.ts()
        if original is not None and body.get("replace_original"):
            self.ctx.log.put_message(
                dataclasses.replace(
                    original,
                    text=text,
                    blocks=blocks,
                    edited_ts=ts,
                    versions=(*original.versions, MessageVersion(text, blocks, ts)),
                )
            )
        elif body.get("response_type") == "in_channel":
            workspace = self.ctx.workspace
            self.ctx.log.put_message(
                Message(
                    channel=target.channel,
                    ts=ts,
                    text=text,
                    blocks=blocks,
                    user=workspace.bot_user_id,
                    bot_id=workspace.bot_id,
                    app_id=workspace.app_id,
                    versions=(MessageVersion(text, blocks, ts),),
                )
            )
        elif original is not None and body.get("delete_original"):
            self.ctx.log.remove_message(original.channel, original.ts)
        else:
            self.ctx.log.add_ephemeral(
                Ephemeral(target.channel, target.user, ts, text, blocks, None)
            )
        return True
