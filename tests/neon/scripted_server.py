"""A tiny loopback HTTP server answering from a script, for answers the simulator never
gives: HTML and malformed bodies, Retry-After headers, slow, trickled and stalled answers,
odd statuses, lying Date headers.

``server.script("GET", "/projects", [Reply(...), ...])``: one reply per request, the last
one repeats; an entry may also be a function of the request (``Responder``), for answers
that depend on it (fresh cursors, an echoed token). Every request is recorded (method,
path, query, headers, body). Waits end when the server closes, so no thread outlives a test
by more than a moment.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BASE_PATH = "/api/v2"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> as is
    # A "Date" or "Content-Length" here replaces the server's own.
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0  # before the status line: a stall
    trickle_seconds: float = 0.0  # between two bytes of the body: a trickle

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            kind = "text/html" if self.body.lstrip().startswith("<") else "text/plain"
            return self.body.encode(), kind
        if self.body is None:
            return b"", "application/json"
        return json.dumps(self.body).encode(), "application/json"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def token(self) -> str:
        """The bearer token the client sent (what an echoing server repeats)."""
        return self.headers.get("Authorization", "").removeprefix("Bearer ")


Responder = Callable[[Received], Reply]


class ScriptedServer:
    def __init__(self) -> None:
        self._scripts: dict[tuple[str, str], list[Reply | Responder]] = {}
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self.base_url = ""
        self.closing = threading.Event()

    def script(self, method: str, path: str, replies: list[Reply | Responder]) -> None:
        with self._lock:
            self._scripts[(method, BASE_PATH + path)] = list(replies)

    def requests_to(self, method: str, path: str) -> list[Received]:
        return [
            request
            for request in self.received
            if request.method == method and request.path == BASE_PATH + path
        ]

    def reply_for(self, received: Received) -> Reply:
        with self._lock:
            self.received.append(received)
            replies = self._scripts.get((received.method, received.path))
            if not replies:
                return Reply(404, {"code": "", "message": "not scripted"})
            entry = replies.pop(0) if len(replies) > 1 else replies[0]
        return entry if isinstance(entry, Reply) else entry(received)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # TCP_NODELAY: a trickled byte leaves at once
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        received = Received(
            self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body
        )
        scripted = self.server.scripted
        reply = scripted.reply_for(received)
        if reply.delay_seconds and scripted.closing.wait(reply.delay_seconds):
            return
        content, content_type = reply.encoded()
        headers = {"Content-Type": content_type, "Content-Length": str(len(content))}
        headers.update(reply.headers)
        try:
            self.send_response_only(reply.status)
            if "Date" not in headers:
                self.send_header("Date", self.date_time_string())
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not reply.trickle_seconds:
                self.wfile.write(content)
                return
            for index in range(len(content)):
                self.wfile.write(content[index : index + 1])
                self.wfile.flush()
                if scripted.closing.wait(reply.trickle_seconds):
                    return
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    scripted: ScriptedServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients that hung up (every timeout and size-cap test does)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def scripted_server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.scripted = scripted
    host, port = server.server_address[:2]
    scripted.base_url = f"http://{host!s}:{port}{BASE_PATH}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield scripted
    finally:
        scripted.closing.set()
        server.shutdown()
        server.server_close()
