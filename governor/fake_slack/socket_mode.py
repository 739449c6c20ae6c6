"""The Socket Mode side: a WebSocket endpoint behind the URL apps.connections.open hands out.

Why it behaves so: Slack's URL carries a one-time ticket (a client must call
apps.connections.open again to reconnect, which is what a test of reconnects checks);
the first frame is ``hello``; envelopes go to one connection (here the newest, so a test
knows which); everything the client sends back is logged, and acks are recognised by
their ``envelope_id``. Disconnects come in Slack's two kinds: a ``disconnect`` frame the
client should act on, and the socket going away (closed, or torn down without a close).
Everything here runs on the fake's event loop; ``FakeSlack`` is the thread-safe front.
"""

from __future__ import annotations

import json
import threading

from aiohttp import WSMsgType, web

from governor.fake_slack import payloads
from governor.fake_slack.ids import Ids
from governor.fake_slack.log import Connection, Delivery, JsonDict, SlackLog
from governor.fake_slack.workspace import Workspace

LINK_PATH = "/link/"


class NoConnection(LookupError):
    """No Socket Mode client is connected (or not the one asked for)."""


class SocketModeServer:
    def __init__(self, workspace: Workspace, log: SlackLog, ids: Ids) -> None:
        self.workspace = workspace
        self.log = log
        self.ids = ids
        self.ws_root = ""  # "ws://127.0.0.1:PORT", set once bound
        self._tickets: set[str] = set()
        self._tickets_lock = threading.Lock()
        self._open: dict[int, tuple[web.WebSocketResponse, web.Request]] = {}
        self._counter = 0

    def issue_url(self) -> str:
        """A fresh URL with a one-time ticket (thread-safe: called by the Web API)."""
        ticket = self.ids.secret()
        with self._tickets_lock:
            self._tickets.add(ticket)
        return f"{self.ws_root}{LINK_PATH}?ticket={ticket}&app_id={self.workspace.app_id}"

    def _redeem(self, ticket: str | None) -> bool:
        with self._tickets_lock:
            if ticket is None or ticket not in self._tickets:
                return False
            self._tickets.discard(ticket)
            return True

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket")
        if not self._redeem(ticket):
            return web.Response(status=401, text="invalid or used ticket")
        socket = web.WebSocketResponse(autoping=True, timeout=2.0)
        await socket.prepare(request)
        self._counter += 1
        number = self._counter
        await socket.send_json(
            payloads.hello(app_id=self.workspace.app_id, num_connections=len(self._open) + 1)
        )
        # Only now may envelopes go out: hello is always the first frame.
        self._open[number] = (socket, request)
        self.log.put_connection(Connection(number, ticket or ""))
        try:
            async for frame in socket:
                if frame.type is WSMsgType.TEXT:
                    self.log.add_frame(number, frame.data, _parse(frame.data))
        finally:
            self._open.pop(number, None)
            self.log.put_connection(
                Connection(number, ticket or "", open=False, close_code=socket.close_code)
            )
        return socket

    def _pick(self, connection_id: int | None) -> tuple[int, web.WebSocketResponse, web.Request]:
        if connection_id is None:
            if not self._open:
                raise NoConnection("no Socket Mode client is connected")
            connection_id = max(self._open)
        if connection_id not in self._open:
            raise NoConnection(f"connection {connection_id} is not open")
        socket, request = self._open[connection_id]
        return connection_id, socket, request

    async def push(self, envelope: JsonDict, connection_id: int | None = None) -> int:
        number, socket, _ = self._pick(connection_id)
        # Logged first: the client's ack may be read before send_str returns.
        self.log.add_delivery(Delivery(number, envelope))
        await socket.send_str(json.dumps(envelope))
        return number

    async def send_disconnect(self, reason: str, connection_id: int | None = None) -> int:
        number, socket, _ = self._pick(connection_id)
        await socket.send_json(payloads.disconnect(reason))
        return number

    async def drop(self, connection_id: int | None = None, *, abort: bool = False) -> int:
        """Close the socket (a close frame, code 1001), or with ``abort`` cut the TCP
        connection with no close frame, as a network failure does."""
        number, socket, request = self._pick(connection_id)
        if abort and request.transport is not None:
            request.transport.abort()
        else:
            await socket.close(code=1001, message=b"going away")
        return number

    async def close_all(self) -> None:
        for number in list(self._open):
            _, request = self._open[number]
            if request.transport is not None:
                request.transport.abort()


def _parse(text: str) -> JsonDict | None:
    try:
        frame = json.loads(text)
    except json.JSONDecodeError:
        return None
    return frame if isinstance(frame, dict) else None
