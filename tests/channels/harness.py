"""Real servers on loopback for the channel tests: an HTTP receiver (webhook, Teams) that
answers from a script, an SMTP server (aiosmtpd) with optional AUTH and STARTTLS, and a
store with a stepping wall clock.

Why real servers: a channel's contract is bytes on a socket (headers, a signature, an SMTP
dialogue); a mock of httpx or smtplib would test our idea of them, not them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from governor.channels.webhook import verify_signature
from governor.config import Config
from governor.store import Store
from tests.conftest import WORLD_NOW
from tests.tools import require_tool

SECRET = "whsec-test-0123456789abcdef"
SMTP_USER = "governor"
SMTP_PASSWORD = "smtp-pass-9f8e7d6c"
TEAMS_SIG = "sig-teams-5a4b3c2d1e"


class WallClock:
    """Wall time that moves only when a test says so."""

    def __init__(self, start: datetime = WORLD_NOW) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool | None = None  # with a secret: whether the signature verified

    @property
    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded


@dataclass
class HttpReceiver:
    """Records every POST; answers each from ``answers`` (status, headers) in turn, then
    200. ``secret``: verify the webhook signature of each request (at ``clock``'s time)."""

    url: str = ""
    secret: str | None = None
    clock: WallClock | None = None
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def answer(self, status: int, headers: dict[str, str] | None = None, *, times: int = 1) -> None:
        self.answers.extend([(status, headers or {})] * times)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        verified = None
        if self.secret is not None:
            now = (self.clock() if self.clock else datetime.now(WORLD_NOW.tzinfo)).timestamp()
            verified = verify_signature(
                self.secret,
                headers.get("X-Neon-Governor-Timestamp", ""),
                body,
                headers.get("X-Neon-Governor-Signature", ""),
                now=now,
            )
        self.received.append(Received(request.path, headers, body, verified))
        status, answer_headers = self.answers.pop(0) if self.answers else (200, {})
        return web.Response(
            status=status, headers=answer_headers, text="ok" if status < 300 else "no"
        )

    @property
    def ids(self) -> list[str]:
        return [r.headers.get("X-Neon-Governor-Delivery", "") for r in self.received]


@asynccontextmanager
async def http_receiver(
    *, secret: str | None = None, clock: WallClock | None = None, path: str = "/hook"
) -> AsyncIterator[HttpReceiver]:
    receiver = HttpReceiver(secret=secret, clock=clock)
    app = web.Application()
    app.router.add_post(path, receiver.handle)
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    port = server.sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield receiver
    finally:
        await runner.cleanup()


# SMTP -------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server accepted: (envelope sender, recipients, parsed message)."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.raw.append(content)
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server(
    *, auth: bool = False, tls_context: ssl.SSLContext | None = None
) -> Iterator[tuple[Mailbox, int]]:
    """An aiosmtpd server on loopback (its own thread); ``auth``: requires LOGIN/PLAIN with
    SMTP_USER/SMTP_PASSWORD; ``tls_context``: offers STARTTLS and requires it."""
    mailbox = Mailbox()

    def authenticator(
        server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == SMTP_USER.encode()
            and data.password == SMTP_PASSWORD.encode()
        )
        if ok:
            mailbox.logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False)

    options: dict[str, Any] = {}
    if auth:
        options |= {
            "authenticator": authenticator,
            "auth_required": True,
            "auth_require_tls": tls_context is not None,
        }
    if tls_context is not None:
        options |= {"tls_context": tls_context, "require_starttls": True}
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def self_signed(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting it) for 127.0.0.1, made with openssl."""
    openssl = require_tool("openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


# Config and store --------------------------------------------------------------------------


def config(**sections: Any) -> Config:
    return Config.model_validate(sections)


@asynccontextmanager
async def opened_store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open_async(tmp_path / "governor.db") as store:
        yield store


def stored_bytes(tmp_path: Path) -> bytes:
    """Every byte of the store's files (the database, its WAL and journal)."""
    return b"".join(path.read_bytes() for path in sorted(tmp_path.glob("governor.db*")))
