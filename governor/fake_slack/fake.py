"""``FakeSlack``: the Web API and Socket Mode on loopback, with the log and the fault plan.

Why one front object: a test starts it, points real slack_sdk clients at ``base_url``
(the Socket Mode URL comes from apps.connections.open, as live), drives it (push an
envelope, click a posted button, drop the socket, take Slack down) and reads ``log``.
Every method is thread-safe and blocking; from an asyncio test call the blocking ones
through ``asyncio.to_thread`` (or await ``until``), so the test's loop keeps running the
async client while the fake waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

from governor.fake_slack import chat, interactions, payloads, webhooks
from governor.fake_slack.context import Context
from governor.fake_slack.faults import DownMode, Faults
from governor.fake_slack.ids import Ids
from governor.fake_slack.log import Ack, Connection, JsonDict, Message, MessageVersion, SlackLog
from governor.fake_slack.response_urls import ResponseUrls
from governor.fake_slack.routes import socket_app, web_app
from governor.fake_slack.server import Listener, LoopThread
from governor.fake_slack.socket_mode import LINK_PATH, SocketModeServer
from governor.fake_slack.web_api import WebApi
from governor.fake_slack.workspace import Workspace

T = TypeVar("T")


class FakeSlack:
    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        socket_port: int = 0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.workspace = workspace or Workspace()
        self.log = SlackLog()
        self.faults = Faults()
        self.ids = Ids(now)
        self._host = host
        self._ports = (port, socket_port)
        self._socket = SocketModeServer(self.workspace, self.log, self.ids)
        self._ctx = Context(self.workspace, self.log, self.ids, "", self._socket.issue_url)
        self._api = WebApi(self._ctx, self.faults)
        self._responses = ResponseUrls(self._ctx)
        self._thread: LoopThread | None = None
        self._web: Listener | None = None
        self._ws: Listener | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._thread is not None:
            raise RuntimeError("FakeSlack is already started")
        self._thread = LoopThread()
        self._thread.start()
        try:
            self._thread.run(self._listen())
        except BaseException:
            self._thread.stop()
            self._thread = None
            raise
        return self

    async def _listen(self) -> None:
        self._web = Listener(
            web_app(self._api, self._socket, self._responses), self._host, self._ports[0]
        )
        await self._web.start()
        self._ws = Listener(socket_app(self._socket), self._host, self._ports[1])
        await self._ws.start()
        self._ctx.http_root = f"http://{self._host}:{self._web.port}"
        self._socket.ws_root = f"ws://{self._host}:{self._ws.port}"

    def stop(self) -> None:
        """Close every socket and both ports, then end the loop thread. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        try:
            thread.run(self._close())
        finally:
            thread.stop()

    async def _close(self) -> None:
        await self._socket.close_all()
        for listener in (self._ws, self._web):
            if listener is not None:
                await listener.stop()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> FakeSlack:
        return await asyncio.to_thread(self.start)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    def _run(self, work: Any, timeout: float = 10.0) -> Any:
        if self._thread is None:
            work.close()
            raise RuntimeError("FakeSlack is not started")
        return self._thread.run(work, timeout)

    # -- addresses -------------------------------------------------------------------------

    @property
    def http_root(self) -> str:
        return self._ctx.http_root

    @property
    def base_url(self) -> str:
        """For ``WebClient(base_url=...)``; the trailing slash matters (urljoin)."""
        return f"{self._ctx.http_root}/api/"

    @property
    def socket_url(self) -> str:
        """Where the Socket Mode server listens (clients get a ticketed URL from
        apps.connections.open; this is for logs and assertions)."""
        return f"{self._socket.ws_root}{LINK_PATH}"

    @property
    def bot_token(self) -> str:
        return self.workspace.bot_token

    @property
    def app_token(self) -> str:
        return self.workspace.app_token

    @property
    def webhook_url(self) -> str:
        """An incoming webhook into the workspace's first channel."""
        secret = webhooks.WEBHOOK_SECRET
        return f"{self.http_root}/services/{self.workspace.team_id}/B0HOOK0001/{secret}"

    def post_as_user(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        """A message a person wrote (not the app: chat.update on it is refused); its ts."""
        ts = self.ids.ts()
        message = Message(
            channel=channel,
            ts=ts,
            text=text,
            blocks=(),
            user=user,
            thread_ts=thread_ts,
            client_msg_id=self.ids.envelope_id(),
            versions=(MessageVersion(text, (), ts),),
        )
        if thread_ts is not None:
            chat.start_thread(self._ctx, channel, thread_ts)
        self.log.put_message(message)
        return ts

    # -- outage ----------------------------------------------------------------------------

    def down(self, mode: DownMode = "refuse") -> None:
        """Slack unreachable: "refuse" closes the Web API port (connection refused),
        "unavailable" answers every request with an HTML 503. Socket Mode is untouched:
        drop its connection separately if the test wants both."""
        self.faults.set_down(mode)
        if mode == "refuse" and self._web is not None:
            self._run(self._web.unlisten())

    def up(self) -> None:
        self.faults.set_down(None)
        if self._web is not None:
            self._run(self._web.listen())

    def set_usergroup(self, group_id: str, users: tuple[str, ...]) -> None:
        """A workspace admin edits a user group: ``usergroups.users.list`` answers the new
        members from the next call on (approvers removed from a group, for tests)."""
        groups = tuple(
            replace(group, users=users) if group.id == group_id else group
            for group in self.workspace.usergroups
        )
        self.workspace = replace(self.workspace, usergroups=groups)
        self._ctx.workspace = self.workspace

    # -- Socket Mode -----------------------------------------------------------------------

    def wait_for_connection(self, *, count: int = 1, timeout: float = 10.0) -> Connection:
        """The newest open connection, once at least ``count`` have been opened in all."""

        def ready(log: SlackLog) -> Connection | None:
            connections = log.connections()
            opened = [c for c in connections if c.open]
            return opened[-1] if len(connections) >= count and opened else None

        return self.log.wait_for(ready, timeout=timeout, what=f"Socket Mode connection #{count}")

    def push(
        self, envelope: JsonDict, *, connection_id: int | None = None, timeout: float = 10.0
    ) -> str:
        """Send an envelope (to the newest connection unless told), waiting up to
        ``timeout`` for a client to be connected; returns its envelope_id."""
        if connection_id is None:
            self.wait_for_connection(timeout=timeout)
        self._run(self._socket.push(envelope, connection_id), timeout)
        return str(envelope["envelope_id"])

    def redeliver(self, envelope_id: str, *, reason: str = "timeout", timeout: float = 10.0) -> str:
        """Send an envelope already delivered once more, with the same envelope_id and
        retry_attempt one higher, as Slack does when an ack is late."""
        earlier = self.log.deliveries(envelope_id)
        if not earlier:
            raise LookupError(f"envelope {envelope_id} was never delivered")
        again = payloads.redelivery(earlier[0].envelope, attempt=len(earlier), reason=reason)
        return self.push(again, timeout=timeout)

    def click(
        self,
        *,
        channel: str,
        ts: str,
        action_id: str,
        user: str,
        value: str | None = None,
        team_id: str | None = None,
        timeout: float = 10.0,
    ) -> str:
        """Press the button ``action_id`` of a message the app posted; returns the
        envelope_id. ``value``/``team_id`` override what Slack would send, to forge."""
        envelope = interactions.click(
            self._ctx,
            self._responses,
            channel=channel,
            ts=ts,
            action_id=action_id,
            user=user,
            value=value,
            team_id=team_id,
        )
        return self.push(envelope, timeout=timeout)

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user: str,
        channel: str,
        timeout: float = 10.0,
    ) -> str:
        """Run ``/command text`` as ``user`` in ``channel``; returns the envelope_id."""
        envelope = interactions.slash_command(
            self._ctx, self._responses, command=command, text=text, user=user, channel=channel
        )
        return self.push(envelope, timeout=timeout)

    def send_disconnect(
        self,
        reason: str = "refresh_requested",
        *,
        connection_id: int | None = None,
        timeout: float = 10.0,
    ) -> int:
        """A ``disconnect`` frame; the client should reconnect (the socket stays open)."""
        number: int = self._run(self._socket.send_disconnect(reason, connection_id), timeout)
        return number

    def drop_connection(
        self, *, connection_id: int | None = None, abort: bool = False, timeout: float = 10.0
    ) -> int:
        """Close a socket (close frame) or, with ``abort``, cut it without one."""
        number: int = self._run(self._socket.drop(connection_id, abort=abort), timeout)
        return number

    def wait_for_ack(self, envelope_id: str, *, count: int = 1, timeout: float = 10.0) -> Ack:
        """The ``count``-th ack of an envelope, once it has arrived."""

        def arrived(log: SlackLog) -> Ack | None:
            acks = log.acks(envelope_id)
            return acks[count - 1] if len(acks) >= count else None

        return self.log.wait_for(arrived, timeout=timeout, what=f"ack #{count} of {envelope_id}")

    async def until(
        self,
        condition: Callable[[SlackLog], T | None],
        *,
        timeout: float = 10.0,
        what: str = "the condition",
    ) -> T:
        """``log.wait_for`` for asyncio tests: waits in a worker thread."""
        return await asyncio.to_thread(self.log.wait_for, condition, timeout=timeout, what=what)
