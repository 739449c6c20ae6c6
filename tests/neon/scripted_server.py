"""A tiny loopback HTTP server answering from a script, for answers the simulator never
gives: HTML and malformed bodies, Retry-After headers, slow answers, odd statuses.

``server.script("GET", "/projects", [Reply(...), ...])``: one reply per request, the last
one repeats. Every request is recorded (method, path, query, headers, body).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
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
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0

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


class ScriptedServer:
    def __init__(self) -> None:
        self._scripts: dict[tuple[str, str], list[Reply]] = {}
        self._lock = threading.Lock()
        self.received: list[Received] = []
        self.base_url = ""

    def script(self, method: str, path: str, replies: list[Reply]) -> None:
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
            return replies.pop(0) if len(replies) > 1 else replies[0]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        received = Received(
            self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body
        )
        reply = self.server.scripted.reply_for(received)
        if reply.delay_seconds:
            time.sleep(reply.delay_seconds)
        content, content_type = reply.encoded()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.headers.get("Content-Type", content_type))
            for name, value in reply.headers.items():
                if name != "Content-Type":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    scripted: ScriptedServer


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
        server.shutdown()
        server.server_close()
