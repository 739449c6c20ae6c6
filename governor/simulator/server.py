"""The simulator over real loopback HTTP: stdlib ThreadingHTTPServer, HTTP/1.1 keep-alive."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from governor.simulator.routes import BASE_PATH
from governor.simulator.simulator import Simulator


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not delay shutdown
    # socketserver's default backlog is 5: a client opening 16 connections at once had some
    # handshakes dropped and retried a second later, so a request reached the server about
    # 1 s after it was sent (Neon's front end accepts far more).
    request_queue_size = 128
    simulator: Simulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a timeout, a cancelled sweep) is normal."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An error page's headers and body are two writes; with Nagle on, delayed ACKs add
    # ~40 ms per such answer (the simulator's own answers are one write).
    disable_nagle_algorithm = True
    server: _Server
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's, written by flush_headers

    def _serve(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.send_error(400, "Content-Length is not an integer")
            return
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = dict(self.headers.items())
        answer = self.server.simulator.handle(
            self.command, parts.path, query, headers, body, raw_query=parts.query
        )
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if answer.status != 204:
            self.send_header("Content-Length", str(len(answer.body)))
        # Head and body in one send (one syscall, one segment for a small answer).
        self._headers_buffer.append(b"\r\n")
        if answer.status != 204 and self.command != "HEAD":
            self._headers_buffer.append(answer.body)
        self.flush_headers()

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, from the simulator's clock (which a test may skew)."""
        if timestamp is None:
            return self.server.simulator.date_header()
        return super().date_time_string(timestamp)

    def send_header(self, keyword: str, value: str) -> None:
        """Drop ``Date`` when the options say the answers carry none."""
        if keyword.lower() == "date" and not self.server.simulator.options.date_header:
            return
        super().send_header(keyword, value)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the simulator keeps its own request log (without tokens)."""


def start_server(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> _Server:
    """Bind and start serving in a daemon thread; the caller shuts it down."""
    server = _Server((host, port), _Handler)
    server.simulator = simulator
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server


def base_url_of(server: _Server) -> str:
    host, port = server.server_address[:2]
    host_text = host if isinstance(host, str) else host.decode()
    if ":" in host_text:
        host_text = f"[{host_text}]"
    return f"http://{host_text}:{port}{BASE_PATH}"


@contextmanager
def serve(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``simulator`` until the block exits; yields ``http://host:port/api/v2``."""
    server = start_server(simulator, host, port)
    try:
        yield base_url_of(server)
    finally:
        server.shutdown()
        server.server_close()
