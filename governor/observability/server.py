"""``/metrics`` and ``/healthz`` on a stdlib HTTP server in a daemon thread.

Why not ``prometheus_client.start_http_server``: it answers metrics on every path, so a
``/healthz`` needs a handler of our own anyway; and the listen address is parsed strictly
here, so a typo in the config is an error at start, not a server on the wrong interface.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger("governor.observability.server")
_LISTEN = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+)):(?P<port>[0-9]{1,5})$")

Render = Callable[[], tuple[bytes, str]]  # (body, content type)
Health = Callable[[], tuple[bool, str]]


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` into (host, port); ValueError naming what is wrong.

    The host must be an IP address or ``localhost``: a name that resolves elsewhere, or
    an empty host (every interface), is never what an operator meant by accident. A
    non-loopback address is allowed, because it can only have been written on purpose.
    """
    match = _LISTEN.match(listen.strip())
    example = 'such as "127.0.0.1:9464" or "[::1]:9464"'
    if match is None:
        raise ValueError(f"metrics listen address {listen!r} is not host:port, {example}")
    port = int(match.group("port"))
    if port > 65535:
        raise ValueError(f"metrics listen address {listen!r}: port {port} is above 65535")
    host = match.group("v6") or match.group("host")
    if host == "localhost":
        return host, port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(
            f"metrics listen address {listen!r}: {host!r} is not an IP address or "
            f"localhost, {example}"
        ) from None
    if match.group("v6") and address.version != 6:
        raise ValueError(f"metrics listen address {listen!r}: brackets are for IPv6 only")
    if not match.group("v6") and address.version == 6:
        raise ValueError(f"metrics listen address {listen!r}: write IPv6 as [{host}]:{port}")
    return host, port


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    render: Render
    health: Health


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body, content_type = self.server.render()
            self._answer(200, body, content_type)
        elif path == "/healthz":
            try:
                healthy, reason = self.server.health()
            except Exception as error:  # a broken check is unhealthy, never a 500 page
                healthy, reason = False, f"health check failed: {type(error).__name__}"
            text = "ok" if healthy else reason or "unhealthy"
            self._answer(200 if healthy else 503, f"{text}\n".encode(), "text/plain")
        else:
            self._answer(404, b"not found: try /metrics or /healthz\n", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("metrics server: " + format, *args)


class MetricsServer:
    """A running server; ``address`` is (host, port) as bound (port 0 gets a free one)."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        host, port = server.server_address[:2]
        self.address: tuple[str, int] = (str(host), int(port))
        self._thread = threading.Thread(
            target=server.serve_forever, name="neon-governor-metrics", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def close(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()


def start_server(listen: str, render: Render, health: Health) -> MetricsServer:
    host, port = parse_listen(listen)
    kind = _IPv6Server if ":" in host else _Server
    server = kind((host, port), _Handler)
    server.render, server.health = render, health
    return MetricsServer(server)
