"""Web API dispatch: token check, scheduled faults, the method's handler, the call log.

Why in this order: Slack authenticates before anything else (``not_authed``,
``invalid_auth``, ``not_allowed_token_type`` for an ``xapp-`` token on a bot method and
the reverse), a scheduled fault then stands in for the method's answer, and every
request that reached the fake, failed or not, is logged without its token, so a test
can count retries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from governor.fake_slack import chat, conversations, directory, files
from governor.fake_slack.context import Context
from governor.fake_slack.faults import Faults
from governor.fake_slack.log import Call, JsonDict
from governor.fake_slack.params import Params, SlackError

Handler = Callable[[Context, Params], JsonDict]
UNAVAILABLE_PAGE = "<html><body><h1>503 Service Unavailable</h1></body></html>"


def _connections_open(ctx: Context, _params: Params) -> JsonDict:
    return {"url": ctx.issue_socket_url()}


# method -> (handler, the token kind it takes)
METHODS: dict[str, tuple[Handler, str]] = {
    "auth.test": (directory.auth_test, "bot"),
    "chat.postMessage": (chat.post_message, "bot"),
    "chat.update": (chat.update, "bot"),
    "chat.postEphemeral": (chat.post_ephemeral, "bot"),
    "conversations.history": (conversations.history, "bot"),
    "conversations.replies": (conversations.replies, "bot"),
    "conversations.info": (conversations.info, "bot"),
    "files.getUploadURLExternal": (files.get_upload_url, "bot"),
    "files.completeUploadExternal": (files.complete_upload, "bot"),
    "users.info": (directory.users_info, "bot"),
    "users.lookupByEmail": (directory.users_lookup_by_email, "bot"),
    "usergroups.users.list": (directory.usergroup_users, "bot"),
    "apps.connections.open": (_connections_open, "app"),
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: JsonDict | str  # a str is an HTML page (an outage), not JSON
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        if isinstance(self.body, str):
            return f"http_{self.status}"
        error = self.body.get("error")
        return error if isinstance(error, str) else None


def _failed(error: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"ok": False, "error": error}, dict(headers or {}))


class WebApi:
    def __init__(self, ctx: Context, faults: Faults) -> None:
        self.ctx = ctx
        self.faults = faults

    def token_kind(self, token: str | None) -> str:
        if not token:
            return "missing"
        if token == self.ctx.workspace.bot_token:
            return "bot"
        if token == self.ctx.workspace.app_token:
            return "app"
        return "unknown"

    def call(
        self,
        method: str,
        params: Mapping[str, Any],
        authorization: str | None,
        *,
        body_error: str | None = None,
    ) -> Reply:
        """Answer one request; ``body_error`` is set when its body could not be read
        (``invalid_json``, ``json_not_object``)."""
        given = dict(params)
        token = given.pop("token", None)
        if authorization and authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ").strip()
        kind = self.token_kind(token if isinstance(token, str) else None)
        reply = _failed(body_error) if body_error else self._answer(method, given, kind)
        self.ctx.log.add_call(
            Call(method, given, kind, reply.status, reply.error is None, reply.error)
        )
        return reply

    def _answer(self, method: str, params: Params, kind: str) -> Reply:
        if self.faults.down == "unavailable":
            return Reply(503, UNAVAILABLE_PAGE)
        entry = METHODS.get(method)
        if entry is None:
            return Reply(200, {"ok": False, "error": "unknown_method", "req_method": method})
        handler, wanted = entry
        if kind == "missing":
            return _failed("not_authed")
        if kind == "unknown":
            return _failed("invalid_auth")
        if kind != wanted:
            return _failed("not_allowed_token_type")
        failure = self.faults.take(method)
        if failure is not None:
            return _failed(failure.error, failure.status, failure.headers)
        try:
            body = handler(self.ctx, params)
        except SlackError as error:
            return Reply(200, {"ok": False, "error": error.error, **error.extra})
        return Reply(200, {"ok": True, **body})
