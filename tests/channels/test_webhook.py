"""The signed webhook against a real HTTP receiver on loopback: signed, once, in order,
retried, and nothing secret in the store or the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from governor.channels import DeliverySender, WebhookChannel, verify_signature
from governor.channels.webhook import sign
from governor.config import Config
from governor.store import deliveries
from tests.channels.documents import digest
from tests.channels.harness import (
    SECRET,
    HttpReceiver,
    WallClock,
    config,
    http_receiver,
    opened_store,
    stored_bytes,
)

pytestmark = pytest.mark.anyio


def hooks(*receivers: tuple[str, HttpReceiver], events: list[str] | None = None) -> Config:
    return config(
        webhooks=[
            {
                "name": name,
                "url": receiver.url,
                "secret_env": "HOOK_SECRET",
                "events": events or ["digest", "report", "notice"],
            }
            for name, receiver in receivers
        ],
        owners={"owner": [{"name": "data", "webhook": "tickets"}, {"name": "web"}]},
    )


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)


async def test_documents_are_signed_so_the_receiver_verifies_them(tmp_path: Path) -> None:
    clock = WallClock()
    async with (
        http_receiver(secret=SECRET, clock=clock) as receiver,
        opened_store(tmp_path) as store,
    ):
        cfg = hooks(("tickets", receiver), events=["report"])
        went = await WebhookChannel(cfg, store, clock).digest(digest("data"))
        assert went == ["webhook:tickets"]
        sender = DeliverySender(cfg, store, clock)
        assert await sender.flush(deadline_seconds=10)
        await sender.aclose()
        [got] = receiver.received
        assert got.verified is True
        assert got.headers["X-Neon-Governor-Signature"] == sign(
            SECRET, got.headers["X-Neon-Governor-Timestamp"], got.body
        )
        document = got.document
        assert document["schema"] == "neon-governor/digest/v1"
        assert document["id"] == got.headers["X-Neon-Governor-Delivery"]
        assert document["data"]["owner"] == "data"


def test_a_tampered_body_a_wrong_secret_or_a_stale_timestamp_is_refused() -> None:
    body = b'{"id":"1"}'
    header = sign(SECRET, 1_000_000, body)
    assert verify_signature(SECRET, "1000000", body, header, now=1_000_010)
    assert not verify_signature(SECRET, "1000000", body + b" ", header, now=1_000_010)
    assert not verify_signature(SECRET, "1000000", b'{"id":"2"}', header, now=1_000_010)
    assert not verify_signature("other", "1000000", body, header, now=1_000_010)
    assert not verify_signature(SECRET, "1000001", body, header, now=1_000_010)
    assert not verify_signature(SECRET, "1000000", body, header, now=1_000_000 + 301)
    assert not verify_signature(SECRET, "soon", body, header, now=1_000_010)
    assert verify_signature(SECRET, "1000000", body, f"v1=00, {header}", now=1_000_010)


async def test_only_digests_of_owners_naming_the_webhook_go_there(tmp_path: Path) -> None:
    clock = WallClock()
    async with http_receiver() as tickets, http_receiver() as chat, opened_store(tmp_path) as store:
        cfg = hooks(("tickets", tickets), ("chat", chat), events=["report"])
        channel = WebhookChannel(cfg, store, clock)
        assert await channel.digest(digest("data")) == ["webhook:tickets"]
        assert await channel.digest(digest("web")) == []  # names no webhook
        sender = DeliverySender(cfg, store, clock)
        assert await sender.flush(deadline_seconds=10)
        await sender.aclose()
        assert [r.document["data"]["owner"] for r in tickets.received] == ["data"]
        assert chat.received == []


async def test_a_500_is_retried_after_its_backoff_and_then_delivered_once(
    tmp_path: Path,
) -> None:
    clock = WallClock()
    async with http_receiver() as receiver, opened_store(tmp_path) as store:
        receiver.answer(500, times=2)
        cfg = hooks(("tickets", receiver))
        await WebhookChannel(cfg, store, clock).digest(digest("data"))
        sender = DeliverySender(cfg, store, clock)
        assert await sender.send_due() == 0
        assert await sender.send_due() == 0  # waits its backoff: not due yet
        clock.advance(2)
        assert await sender.send_due() == 0  # the second 500
        clock.advance(3)
        assert await sender.send_due() == 0  # 4 s after the second try: not yet
        clock.advance(1)
        assert await sender.send_due() == 1
        assert await sender.send_due() == 0
        await sender.aclose()
        assert len(receiver.received) == 3
        assert len(set(receiver.ids)) == 1  # the same delivery id on every try
        [row] = await store.run(deliveries.listed)
        assert (row.state, row.attempts) == ("sent", 3)


async def test_a_429_waits_its_retry_after_and_then_delivers(tmp_path: Path) -> None:
    clock = WallClock()
    async with http_receiver() as receiver, opened_store(tmp_path) as store:
        receiver.answer(429, {"Retry-After": "120"})
        cfg = hooks(("tickets", receiver))
        await WebhookChannel(cfg, store, clock).digest(digest("data"))
        sender = DeliverySender(cfg, store, clock)
        assert await sender.send_due() == 0
        clock.advance(119)
        assert await sender.send_due() == 0  # backoff alone would have retried by now
        assert len(receiver.received) == 1
        clock.advance(1)
        assert await sender.send_due() == 1
        await sender.aclose()


async def test_later_messages_never_overtake_a_retried_one_of_the_same_webhook(
    tmp_path: Path,
) -> None:
    clock = WallClock()
    async with http_receiver() as tickets, http_receiver() as chat, opened_store(tmp_path) as store:
        tickets.answer(503)
        cfg = hooks(("tickets", tickets), ("chat", chat), events=["digest"])
        channel = WebhookChannel(cfg, store, clock)
        for owner in ("first", "second", "third"):
            await channel.digest(digest(owner))  # each to both webhooks (events: digest)
        sender = DeliverySender(cfg, store, clock)
        await sender.send_due()
        await sender.send_due()
        # chat goes on while tickets waits for its retry
        assert [r.document["data"]["owner"] for r in chat.received] == ["first", "second"]
        assert [r.document["data"]["owner"] for r in tickets.received] == ["first"]
        clock.advance(60)
        assert await sender.flush(deadline_seconds=10)
        await sender.aclose()
        owners = [r.document["data"]["owner"] for r in tickets.received]
        assert owners == ["first", "first", "second", "third"]
        assert [r.document["data"]["owner"] for r in chat.received] == ["first", "second", "third"]


async def test_a_send_cut_off_by_a_crash_is_sent_again_with_the_same_id_and_others_once(
    tmp_path: Path,
) -> None:
    clock = WallClock()
    async with http_receiver(secret=SECRET, clock=clock) as receiver:
        cfg = hooks(("tickets", receiver))
        async with opened_store(tmp_path) as store:
            channel = WebhookChannel(cfg, store, clock)
            await channel.digest(digest("data"))
            await channel.digest(digest("data"))
            sender = DeliverySender(cfg, store, clock)
            [first] = await store.run(deliveries.due, now=clock())
            assert await sender.send_due() == 1  # the first goes
            [second] = await store.run(deliveries.due, now=clock())
            assert second.id != first.id
            # the process claims the second and dies before the answer is recorded
            assert await store.run(deliveries.claim, second.id, now=clock())
            await sender.aclose()
        async with opened_store(tmp_path) as store:  # the restart
            [left] = await store.run(deliveries.due, now=clock())
            assert (left.id, left.uncertain) == (second.id, True)
            restarted = DeliverySender(cfg, store, clock)
            assert await restarted.flush(deadline_seconds=10)
            assert await restarted.send_due() == 0
            await restarted.aclose()
            assert [row.state for row in await store.run(deliveries.listed)] == ["sent", "sent"]
        assert receiver.ids == [str(first.id), str(second.id)]
        assert [r.document["id"] for r in receiver.received] == receiver.ids
        assert all(r.verified for r in receiver.received)


async def test_a_permanent_refusal_gives_up_after_three_tries_and_the_next_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = WallClock()
    async with http_receiver() as receiver, opened_store(tmp_path) as store:
        receiver.answer(404, times=3)
        cfg = hooks(("tickets", receiver))
        channel = WebhookChannel(cfg, store, clock)
        await channel.digest(digest("data"))
        await channel.digest(digest("data"))
        sender = DeliverySender(cfg, store, clock)
        with caplog.at_level(logging.ERROR, "governor.channels"):
            for _ in range(3):
                await sender.send_due()
                clock.advance(600)
            assert await sender.flush(deadline_seconds=10)
        await sender.aclose()
        states = [row.state for row in await store.run(deliveries.listed)]
        assert states == ["failed", "sent"]
        assert "giving up" in caplog.text
        assert len(receiver.received) == 4


async def test_the_signing_secret_never_reaches_the_store_or_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = WallClock()
    async with http_receiver() as receiver, opened_store(tmp_path) as store:
        receiver.answer(500)
        receiver.answer(404, times=3)
        cfg = hooks(("tickets", receiver))
        await WebhookChannel(cfg, store, clock).digest(digest("data"))
        sender = DeliverySender(cfg, store, clock)
        with caplog.at_level(logging.DEBUG):
            for _ in range(6):
                await sender.send_due()
                clock.advance(600)
        await sender.aclose()
        await store.run(deliveries.listed)
    assert SECRET.encode() not in stored_bytes(tmp_path)
    assert SECRET not in caplog.text
    assert "HTTP 500" in caplog.text  # the failures were logged, without the secret


async def test_a_missing_secret_keeps_the_document_and_says_which_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("HOOK_SECRET")
    clock = WallClock()
    async with http_receiver() as receiver, opened_store(tmp_path) as store:
        cfg = hooks(("tickets", receiver))
        await WebhookChannel(cfg, store, clock).digest(digest("data"))
        sender = DeliverySender(cfg, store, clock)
        assert await sender.send_due() == 0
        await sender.aclose()
        [row] = await store.run(deliveries.listed)
        assert row.state == "pending"
        assert "HOOK_SECRET is not set" in (row.last_error or "")
        assert receiver.received == []


def test_a_webhook_over_plain_http_to_another_host_is_refused() -> None:
    with pytest.raises(ValueError, match="https"):
        config(webhooks=[{"name": "t", "url": "http://example.com/h", "secret_env": "S"}])
    with pytest.raises(ValueError, match="secret_env or secret_file"):
        config(webhooks=[{"name": "t", "url": "https://example.com/h"}])
    assert config(webhooks=[{"name": "t", "url": "http://127.0.0.1:9/h", "secret_env": "S"}])


def test_two_webhooks_with_one_name_are_refused() -> None:
    hook = {"name": "t", "url": "https://example.com/h", "secret_env": "S"}
    with pytest.raises(ValueError, match="repeated: t"):
        config(webhooks=[hook, {**hook, "url": "https://example.com/other"}])


async def test_unsupported_calls_do_nothing_and_store_nothing(tmp_path: Path) -> None:
    async with opened_store(tmp_path) as store:
        channel = WebhookChannel(config(), store, WallClock())
        assert await channel.request([]) == []
        assert await channel.digest(digest("data")) == []
        assert await channel.notices([])([]) is None
        assert await store.run(deliveries.listed) == []


def test_the_readme_snippet_verifies_a_document_the_governor_signed() -> None:
    import re
    import time

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Webhook, email and Teams", 1)[1]
    [snippet] = re.findall(r"```python\n(.*?)```", section.split("**Email.**", 1)[0], re.S)
    namespace: dict[str, object] = {}
    exec(snippet, namespace)
    verify = namespace["verify"]
    assert callable(verify)
    body, timestamp = b'{"id":"7"}', str(int(time.time()))
    assert verify(SECRET, timestamp, body, sign(SECRET, timestamp, body))
    assert not verify(SECRET, timestamp, body + b"x", sign(SECRET, timestamp, body))
