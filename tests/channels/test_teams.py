"""Teams through a Workflows-shaped HTTP receiver on loopback: Adaptive Cards for reports,
notices and owners' digests, names escaped, the webhook URL never stored or logged."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from governor.channels import DeliverySender, TeamsChannel
from governor.pipeline.results import AuditResult
from governor.store import deliveries
from tests.channels.documents import HOSTILE, digest, item
from tests.channels.harness import (
    TEAMS_SIG,
    WallClock,
    config,
    http_receiver,
    opened_store,
    stored_bytes,
)
from tests.conftest import WORLD_NOW
from tests.remediate.harness import rig, shipped

pytestmark = pytest.mark.anyio


def card_of(document: dict[str, Any]) -> dict[str, Any]:
    assert document["type"] == "message"
    [attachment] = document["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    content: dict[str, Any] = attachment["content"]
    assert content["type"] == "AdaptiveCard"
    assert content["version"] == "1.4"
    assert content["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    return content


def texts(card: dict[str, Any]) -> str:
    parts = []
    for block in card["body"]:
        if block["type"] == "TextBlock":
            parts.append(block["text"])
        elif block["type"] == "FactSet":
            parts.extend(f"{fact['title']}: {fact['value']}" for fact in block["facts"])
    return "\n".join(parts)


async def test_a_run_with_changes_is_reported_as_an_adaptive_card_in_the_workflows_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with http_receiver(path="/workflows/trigger") as receiver, rig(tmp_path) as r:
        url = f"{receiver.url}?sig={TEAMS_SIG}"
        monkeypatch.setenv("TEAMS_URL", url)
        cfg = config(teams={"webhook_env": "TEAMS_URL"})
        channel = TeamsChannel(cfg, r.store, r.now)
        result = await r.audit()
        await channel.run_finished(result)
        await channel.run_finished(await r.audit())  # nothing new: no second card
        assert await channel.request([]) == []  # no approvals in Teams
        with caplog.at_level(logging.DEBUG):
            sender = DeliverySender(cfg, r.store, r.now)
            assert await sender.flush(deadline_seconds=20)
            await sender.aclose()
        [got] = receiver.received
        card = card_of(got.document)
        shown = texts(card)
        assert f"run {result.run_id}" in shown
        assert f"Findings: {len(result.findings)}" in shown
        [row] = await r.store.run(deliveries.listed)
        assert f"delivery {row.id}" in shown  # the dedupe id a reader can match
    assert TEAMS_SIG.encode() not in stored_bytes(tmp_path)
    assert TEAMS_SIG not in caplog.text


async def test_hostile_names_are_escaped_in_the_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = WallClock()
    async with http_receiver() as receiver:
        monkeypatch.setenv("DATA_TEAMS", receiver.url)
        cfg = config(owners={"owner": [{"name": "data", "teams_webhook_env": "DATA_TEAMS"}]})
        async with opened_store(tmp_path) as store:
            channel = TeamsChannel(cfg, store, clock)
            assert await channel.digest(digest("data", item(HOSTILE, summary=HOSTILE))) == ["teams"]
            assert await channel.digest(digest("nobody")) == []
            sender = DeliverySender(cfg, store, clock)
            assert await sender.flush(deadline_seconds=20)
            await sender.aclose()
    [got] = receiver.received
    shown = texts(card_of(got.document))
    assert "Neon digest for data" in shown
    assert "[click](https://evil.example)" not in shown
    assert r"\[click\]\(https://evil.example\)" in shown
    assert r"\*bold\*" in shown
    assert r"\_i\_" in shown
    assert "\r" not in shown
    assert r"\<b\>x\</b\>" in shown


async def test_notices_become_one_card_per_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = [p for p in shipped("auto") if p.name == "never-suspending-computes"]
    async with http_receiver() as receiver, rig(tmp_path, policies=policies) as r:
        monkeypatch.setenv("TEAMS_URL", receiver.url)
        cfg = config(teams={"webhook_env": "TEAMS_URL"})
        channel = TeamsChannel(cfg, r.store, r.now)
        plan = await r.plan()
        assert await channel.notices(policies)([(i, "") for i in plan.items]) == "teams"
        sender = DeliverySender(cfg, r.store, r.now)
        assert await sender.flush(deadline_seconds=20)
        await sender.aclose()
    [got] = receiver.received
    assert "changes coming" in texts(card_of(got.document))


async def test_a_teams_url_that_is_not_https_is_refused_when_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAMS_URL", "http://example.com/hook")
    clock = WallClock()
    async with opened_store(tmp_path) as store:
        cfg = config(teams={"webhook_env": "TEAMS_URL"})
        channel = TeamsChannel(cfg, store, clock)
        await channel.run_finished(incomplete_result())
        sender = DeliverySender(cfg, store, clock)
        for _ in range(3):
            await sender.send_due()
            clock.advance(3600)
        await sender.aclose()
        [row] = await store.run(deliveries.listed)
        assert row.state == "failed"
        assert "https" in (row.last_error or "")
        assert "example.com" not in (row.last_error or "")


def incomplete_result() -> AuditResult:
    return AuditResult(
        run_id=1,
        started_at=WORLD_NOW,
        finished_at=WORLD_NOW,
        complete=False,  # an incomplete sweep is always reported
        requests=0,
        findings=[],
        resolved=[],
        incomplete=[],
        policies=[],
    )
