"""Every document the webhook emits matches the JSON Schema the package ships."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from governor.channels import DeliverySender, WebhookChannel
from tests.channels.documents import HOSTILE, digest, item
from tests.channels.harness import SECRET, config, http_receiver
from tests.remediate.harness import rig, shipped

pytestmark = pytest.mark.anyio


def shipped_schema() -> dict[str, Any]:
    text = resources.files("governor").joinpath("schemas/webhook.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def test_the_shipped_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(shipped_schema())


async def test_every_kind_of_document_emitted_matches_the_shipped_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    graced = [
        p for p in shipped("auto", grace=timedelta(days=1)) if p.name == "never-suspending-computes"
    ]
    async with http_receiver() as receiver, rig(tmp_path, policies=graced) as r:
        cfg = config(
            webhooks=[
                {
                    "name": "all",
                    "url": receiver.url,
                    "secret_env": "HOOK_SECRET",
                    "events": ["report", "notice", "digest", "approval_request", "outcome"],
                }
            ]
        )
        channel = WebhookChannel(cfg, r.store, r.now)
        await r.apply(announce=channel.notices(graced))  # notices, grace from now
        r.clock.now += 2 * 86400
        acted = await r.apply(announce=channel.notices(graced))
        assert acted.outcomes
        await channel.outcomes(acted.outcomes)
        await channel.run_finished(await r.audit())
        r.policies = shipped("approve")
        asked = await r.apply()
        assert asked.requested
        assert await channel.request(asked.requested) == [rec.id for rec in asked.requested]
        await channel.update(asked.requested[0], "rejected", "not now")
        await channel.digest(digest("data", item(HOSTILE), item("other", usd=None)))
        sender = DeliverySender(cfg, r.store, r.now)
        assert await sender.flush(deadline_seconds=20)
        await sender.aclose()
    validator = Draft202012Validator(
        shipped_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    documents = [received.document for received in receiver.received]
    kinds = {document["type"] for document in documents}
    assert kinds == {"notice", "outcome", "report", "approval_request", "digest"}
    for document in documents:
        errors = [error.message for error in validator.iter_errors(document)]
        assert errors == [], (document["type"], errors)
    [report] = [d for d in documents if d["type"] == "report"]
    assert report["data"]["counts"]["findings"] >= len(report["data"]["top_findings"])
