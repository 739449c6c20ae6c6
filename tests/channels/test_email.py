"""Email against a real SMTP server (aiosmtpd) on loopback: AUTH, STARTTLS, a text and an
HTML part, escaped names, one Message-ID per delivery, no password anywhere."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import pytest

from governor.channels import DeliverySender, EmailChannel
from governor.remediate.plan import PlanItem
from governor.store import deliveries
from tests.channels.documents import HOSTILE, digest, item
from tests.channels.harness import (
    SMTP_PASSWORD,
    SMTP_USER,
    WallClock,
    config,
    opened_store,
    self_signed,
    smtp_server,
    stored_bytes,
)

pytestmark = [
    pytest.mark.anyio,
    # the loopback server takes AUTH without TLS on purpose (STARTTLS has its own test)
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]
OWNERS = {"owner": [{"name": "data", "emails": ["data-team@example.com"]}, {"name": "web"}]}


def email_config(port: int, **email: Any) -> Any:
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "sender": "gov@example.org"}
    settings["timeout_seconds"] = 10.0
    return config(email=settings | email, owners=OWNERS)


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", SMTP_PASSWORD)


async def send_all(sender: DeliverySender) -> None:
    assert await sender.flush(deadline_seconds=20)
    await sender.aclose()


async def test_a_digest_arrives_over_smtp_with_auth_as_text_and_html(tmp_path: Path) -> None:
    clock = WallClock()
    with smtp_server(auth=True) as (mailbox, port):
        async with opened_store(tmp_path) as store:
            cfg = email_config(port, username=SMTP_USER)
            channel = EmailChannel(cfg, store, clock)
            assert await channel.digest(digest("data", item("dev", usd=40.0))) == ["email"]
            assert await channel.digest(digest("web")) == []  # no address
            await send_all(DeliverySender(cfg, store, clock))
    assert mailbox.logins == [SMTP_USER]
    [(sender, rcpt, message)] = mailbox.messages
    assert (sender, rcpt) == ("gov@example.org", ["data-team@example.com"])
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "dev" in text.get_content()
    assert "$40.00" in text.get_content()
    assert "<b>dev</b>" in html.get_content()
    assert message["Subject"].startswith("Neon digest for data: 1 open")


async def test_starttls_with_a_certificate_the_client_trusts(tmp_path: Path) -> None:
    server_context, client_context = self_signed(tmp_path)
    clock = WallClock()
    with smtp_server(auth=True, tls_context=server_context) as (mailbox, port):
        async with opened_store(tmp_path) as store:
            cfg = email_config(port, security="starttls", username=SMTP_USER)
            await EmailChannel(cfg, store, clock).digest(digest("data"))
            await send_all(DeliverySender(cfg, store, clock, ssl_context=client_context))
    assert mailbox.logins == [SMTP_USER]
    assert len(mailbox.messages) == 1


async def test_starttls_refuses_a_certificate_nobody_trusts_and_keeps_the_message(
    tmp_path: Path,
) -> None:
    server_context, _ = self_signed(tmp_path)
    clock = WallClock()
    with smtp_server(tls_context=server_context) as (mailbox, port):
        async with opened_store(tmp_path) as store:
            cfg = email_config(port, security="starttls")
            await EmailChannel(cfg, store, clock).digest(digest("data"))
            sender = DeliverySender(cfg, store, clock, ssl_context=ssl.create_default_context())
            assert await sender.send_due() == 0
            await sender.aclose()
            [row] = await store.run(deliveries.listed)
            assert row.state == "pending"
            assert "CERTIFICATE_VERIFY_FAILED" in (row.last_error or "")
    assert mailbox.messages == []


async def test_hostile_names_are_escaped_in_html_and_the_subject_stays_one_header(
    tmp_path: Path,
) -> None:
    clock = WallClock()
    owners = {"owner": [{"name": "data", "emails": ["data-team@example.com"]}]}
    with smtp_server() as (mailbox, port):
        async with opened_store(tmp_path) as store:
            cfg = config(
                email={"host": "127.0.0.1", "port": port, "security": "none",
                       "sender": "gov@example.org"},
                owners=owners,
            )  # fmt: skip
            hostile = digest("data", item(HOSTILE, summary=HOSTILE, policy="<script>p</script>"))
            await EmailChannel(cfg, store, clock).digest(hostile)
            await send_all(DeliverySender(cfg, store, clock))
    [(_, rcpt, message)] = mailbox.messages
    assert rcpt == ["data-team@example.com"]  # the name's "Bcc:" line added no recipient
    assert message["Bcc"] is None
    html = message.get_body(("html",))
    assert html is not None
    body = html.get_content()
    assert "<b>x</b>" not in body
    assert "&lt;b&gt;x&lt;/b&gt;" in body
    assert "<script>" not in body
    assert "&lt;script&gt;" in body
    raw = mailbox.raw[0].split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in raw
    assert b"victim" not in raw


async def test_every_send_of_one_delivery_carries_the_same_message_id(tmp_path: Path) -> None:
    clock = WallClock()
    with smtp_server() as (mailbox, port):
        async with opened_store(tmp_path) as store:
            cfg = email_config(port)
            await EmailChannel(cfg, store, clock).digest(digest("data"))
            [row] = await store.run(deliveries.listed)
            assert await store.run(deliveries.claim, row.id, now=clock())  # a crash mid-send
            sender = DeliverySender(cfg, store, clock)
            await sender.transports["email"].send(row, now=clock())  # it had arrived
            await send_all(sender)  # the restart sends it again: same Message-ID
    first, second = (message for _, _, message in mailbox.messages)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith(f"<neon-governor.{row.id}.")
    assert first["X-Neon-Governor-Delivery"] == str(row.id)


async def test_notices_go_to_notices_to(tmp_path: Path) -> None:
    from tests.remediate.harness import rig, shipped

    graced = [p for p in shipped("auto") if p.name == "never-suspending-computes"]
    with smtp_server() as (mailbox, port):
        async with rig(tmp_path, policies=graced) as r:
            cfg = email_config(port, notices_to=["ops@example.com", "not an address"])
            channel = EmailChannel(cfg, r.store, r.now)
            plan = await r.plan()
            items: list[PlanItem] = list(plan.items)
            assert items
            assert await channel.notices(graced)([(i, "") for i in items]) == "email"
            await send_all(DeliverySender(cfg, r.store, r.now))
    [(_, rcpt, message)] = mailbox.messages
    assert rcpt == ["ops@example.com"]
    assert "change(s) noticed" in message["Subject"]


async def test_a_refused_password_gives_up_without_reaching_the_log_or_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-pass-31415926"
    monkeypatch.setenv("SMTP_PASSWORD", wrong)
    clock = WallClock()
    with smtp_server(auth=True) as (mailbox, port):
        async with opened_store(tmp_path) as store:
            cfg = email_config(port, username=SMTP_USER)
            await EmailChannel(cfg, store, clock).digest(digest("data"))
            sender = DeliverySender(cfg, store, clock)
            with caplog.at_level(logging.DEBUG):
                for _ in range(3):
                    await sender.send_due()
                    clock.advance(3600)
            await sender.aclose()
            [row] = await store.run(deliveries.listed)
            assert row.state == "failed"
            assert "535" in (row.last_error or "")
    assert mailbox.messages == []
    assert wrong not in caplog.text
    assert SMTP_PASSWORD not in caplog.text
    assert wrong.encode() not in stored_bytes(tmp_path)
    assert "giving up" in caplog.text


def test_email_without_encryption_to_another_host_is_refused() -> None:
    with pytest.raises(ValueError, match="loopback"):
        config(email={"host": "smtp.example.com", "security": "none", "sender": "a@b.c"})
    with pytest.raises(ValueError, match="sender"):
        config(email={"host": "smtp.example.com"})
    assert config(email={"host": "localhost", "security": "none", "sender": "a@b.c"})
