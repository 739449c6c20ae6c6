"""What happened, for tests to read: Web API calls, messages, files, envelopes and acks.

Why one log that is also the fake's state: a message's current text is what
``chat.update`` left there and what ``conversations.history`` returns, so there is one
place to look. Records are immutable snapshots; readers get copies, and ``wait_for`` lets
a test block on a condition (an ack arriving on another thread) instead of sleeping.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from governor.fake_slack.ids import ts_key

T = TypeVar("T")
POLL_SECONDS = 0.05
JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One Web API request; ``params`` never holds the token."""

    method: str
    params: Mapping[str, Any]
    token_kind: str  # "bot", "app", "missing" or "unknown"
    status: int
    ok: bool
    error: str | None


@dataclass(frozen=True)
class MessageVersion:
    text: str
    blocks: tuple[JsonDict, ...]
    ts: str  # when this version was written


@dataclass(frozen=True)
class Message:
    """A channel message as it stands now; ``versions`` holds every state, oldest first."""

    channel: str
    ts: str
    text: str
    blocks: tuple[JsonDict, ...]
    user: str
    bot_id: str | None = None
    app_id: str | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    metadata: JsonDict | None = None
    client_msg_id: str | None = None
    attachments: tuple[JsonDict, ...] = ()
    files: tuple[str, ...] = ()
    edited_ts: str | None = None
    versions: tuple[MessageVersion, ...] = ()

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass(frozen=True)
class Ephemeral:
    channel: str
    user: str
    ts: str
    text: str
    blocks: tuple[JsonDict, ...]
    thread_ts: str | None


@dataclass(frozen=True)
class UploadedFile:
    """A files_upload_v2 file through its three steps (URL issued, bytes sent, completed)."""

    id: str
    filename: str
    length: int
    upload_key: str
    alt_txt: str | None = None
    snippet_type: str | None = None
    content: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass(frozen=True)
class ResponseUrlPost:
    """A POST to a ``response_url`` handed out in an interactive or slash-command payload."""

    kind: str  # "actions" or "commands"
    key: str
    body: JsonDict


@dataclass(frozen=True)
class Connection:
    id: int
    ticket: str
    open: bool = True
    close_code: int | None = None


@dataclass(frozen=True)
class Delivery:
    connection_id: int
    envelope: JsonDict


@dataclass(frozen=True)
class Ack:
    """A frame with an ``envelope_id`` the client sent back; ``payload`` if it had one."""

    connection_id: int
    envelope_id: str
    payload: JsonDict | None
    frame: JsonDict
    at: float = field(compare=False)


class SlackLog:
    def __init__(self) -> None:
        self._changed = threading.Condition(threading.RLock())
        self._calls: list[Call] = []
        self._messages: dict[tuple[str, str], Message] = {}
        self._ephemerals: list[Ephemeral] = []
        self._files: dict[str, UploadedFile] = {}
        self._responses: list[ResponseUrlPost] = []
        self._connections: dict[int, Connection] = {}
        self._deliveries: list[Delivery] = []
        self._acks: list[Ack] = []
        self._frames: list[tuple[int, str]] = []

    # -- writing (the fake) ------------------------------------------------------------

    def _change(self, action: Callable[[], T]) -> T:
        with self._changed:
            result = action()
            self._changed.notify_all()
            return result

    def add_call(self, call: Call) -> None:
        self._change(lambda: self._calls.append(call))

    def put_message(self, message: Message) -> None:
        def put() -> None:
            self._messages[(message.channel, message.ts)] = message

        self._change(put)

    def remove_message(self, channel: str, ts: str) -> None:
        self._change(lambda: self._messages.pop((channel, ts), None))

    def add_ephemeral(self, ephemeral: Ephemeral) -> None:
        self._change(lambda: self._ephemerals.append(ephemeral))

    def put_file(self, file: UploadedFile) -> None:
        self._change(lambda: self._files.__setitem__(file.id, file))

    def add_response(self, post: ResponseUrlPost) -> None:
        self._change(lambda: self._responses.append(post))

    def put_connection(self, connection: Connection) -> None:
        self._change(lambda: self._connections.__setitem__(connection.id, connection))

    def add_delivery(self, delivery: Delivery) -> None:
        self._change(lambda: self._deliveries.append(delivery))

    def add_frame(self, connection_id: int, text: str, frame: JsonDict | None) -> None:
        def add() -> None:
            self._frames.append((connection_id, text))
            envelope_id = frame.get("envelope_id") if frame else None
            if frame is not None and isinstance(envelope_id, str):
                payload = frame.get("payload")
                self._acks.append(
                    Ack(
                        connection_id,
                        envelope_id,
                        payload if isinstance(payload, dict) else None,
                        frame,
                        time.monotonic(),
                    )
                )

        self._change(add)

    # -- reading (tests) ---------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        with self._changed:
            return [call for call in self._calls if method is None or call.method == method]

    def message(self, channel: str, ts: str) -> Message:
        """KeyError when there is no such message."""
        with self._changed:
            return self._messages[(channel, ts)]

    def find_message(self, channel: str, ts: str) -> Message | None:
        with self._changed:
            return self._messages.get((channel, ts))

    def messages(self, channel: str | None = None) -> list[Message]:
        """Every message (top level and replies), oldest first."""
        with self._changed:
            found = [m for m in self._messages.values() if channel in (None, m.channel)]
        return sorted(found, key=lambda m: ts_key(m.ts))

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies in a thread, oldest first, without the parent."""
        return [m for m in self.messages(channel) if m.is_reply and m.thread_ts == thread_ts]

    def ephemerals(self) -> list[Ephemeral]:
        with self._changed:
            return list(self._ephemerals)

    def files(self) -> list[UploadedFile]:
        with self._changed:
            return list(self._files.values())

    def file(self, file_id: str) -> UploadedFile | None:
        with self._changed:
            return self._files.get(file_id)

    def file_by_upload_key(self, key: str) -> UploadedFile | None:
        with self._changed:
            return next((f for f in self._files.values() if f.upload_key == key), None)

    def responses(self) -> list[ResponseUrlPost]:
        with self._changed:
            return list(self._responses)

    def connections(self) -> list[Connection]:
        with self._changed:
            return sorted(self._connections.values(), key=lambda c: c.id)

    def deliveries(self, envelope_id: str | None = None) -> list[Delivery]:
        with self._changed:
            return [
                d
                for d in self._deliveries
                if envelope_id is None or d.envelope.get("envelope_id") == envelope_id
            ]

    def acks(self, envelope_id: str | None = None) -> list[Ack]:
        with self._changed:
            return [a for a in self._acks if envelope_id in (None, a.envelope_id)]

    def frames(self) -> list[tuple[int, str]]:
        """Every text frame a Socket Mode client sent: (connection id, raw text)."""
        with self._changed:
            return list(self._frames)

    def wait_for(
        self,
        condition: Callable[[SlackLog], T | None],
        *,
        timeout: float = 10.0,
        what: str = "the condition",
    ) -> T:
        """Block until ``condition(log)`` is truthy and return it; TimeoutError otherwise.

        Re-checked on every change to the log and at least every 50 ms, so a condition
        may also look at a client's own state (``client.is_connected()``)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = condition(self)
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"waited {timeout}s for {what}")
                self._changed.wait(min(remaining, POLL_SECONDS))

    def snapshot(self) -> JsonDict:
        """Everything as JSON-ready data (file contents base64), for the subprocess mode."""

        def plain(record: Any) -> Any:
            data = dataclasses.asdict(record)
            if isinstance(data.get("content"), bytes):
                data["content"] = base64.b64encode(data["content"]).decode("ascii")
            return data

        with self._changed:
            return {
                "calls": [plain(c) for c in self._calls],
                "messages": [plain(m) for m in self.messages()],
                "ephemerals": [plain(e) for e in self._ephemerals],
                "files": [plain(f) for f in self._files.values()],
                "responses": [plain(r) for r in self._responses],
                "connections": [plain(c) for c in self.connections()],
                "deliveries": [plain(d) for d in self._deliveries],
                "acks": [plain(a) for a in self._acks],
            }
