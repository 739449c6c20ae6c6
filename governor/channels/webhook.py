"""A generic webhook: signed JSON documents a ticketing system or chat tool can consume.

Each document is ``{"schema": "neon-governor/<kind>/v1", "id": <delivery id>, "type":
<kind>, "sent_at": ..., "data": {...}}`` (``governor/schemas/webhook.schema.json``),
POSTed with three headers::

    X-Neon-Governor-Timestamp: <unix seconds>
    X-Neon-Governor-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>
    X-Neon-Governor-Delivery: <delivery id>

Why the timestamp is signed: a receiver that refuses documents older than a few minutes
(``verify_signature``'s ``tolerance``) cannot be fed a captured one again later. Delivery
is at-least-once: a send cut off by a crash is sent again with the same ``id``, so a
consumer drops an ``id`` it has already seen.

A webhook gets the kinds in its ``events`` (report, notice, approval_request, outcome,
digest: every owner's), and the digests of owners whose ``webhook`` names it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from governor.channels.base import OutboxChannel
from governor.channels.documents import (
    Data,
    digest_data,
    iso,
    notice_data,
    outcome_data,
    report_data,
    request_data,
    update_data,
)
from governor.channels.transport import DeliveryError, named_secret, post
from governor.config import Config
from governor.config.channels import WebhookEvent, WebhookSettings
from governor.notify.documents import Digest
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.execute import Outcome
from governor.remediate.plan import PlanItem
from governor.store.deliveries import Delivery
from governor.store.remediations import RemediationRecord

SCHEMA_PREFIX = "neon-governor"
TIMESTAMP_HEADER = "X-Neon-Governor-Timestamp"
SIGNATURE_HEADER = "X-Neon-Governor-Signature"
DELIVERY_HEADER = "X-Neon-Governor-Delivery"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header's value: ``v1=`` and the hex HMAC-SHA256 of ``"{ts}.{body}"``."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """For consumers: True when ``header`` (X-Neon-Governor-Signature) signs ``body`` at
    ``timestamp`` (X-Neon-Governor-Timestamp) with ``secret``, and ``timestamp`` is within
    ``tolerance`` seconds of ``now`` (unix seconds). ``body``: the raw bytes received,
    before any JSON parsing. Compared in constant time; any ``v1=`` entry may match (a
    header may list several, comma-separated, while a secret is rotated)."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent_at) > tolerance:
        return False
    expected = sign(secret, sent_at, body)
    return any(
        hmac.compare_digest(expected, candidate.strip())
        for candidate in header.split(",")
        if candidate.strip().startswith(f"{SIGNATURE_VERSION}=")
    )


def document(delivery: Delivery, *, sent_at: datetime) -> dict[str, Any]:
    """The document a delivery row stands for; ``id`` is the row's (same on every retry)."""
    return {
        "schema": f"{SCHEMA_PREFIX}/{delivery.kind}/v1",
        "id": str(delivery.id),
        "type": delivery.kind,
        "sent_at": iso(sent_at),
        "data": delivery.payload.get("data", {}),
    }


def encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookChannel(OutboxChannel):
    """Enqueues a document per event for each ``[[webhooks]]`` entry that asks for it."""

    name = "webhook"

    def _for(self, event: WebhookEvent) -> list[WebhookSettings]:
        return [hook for hook in self.config.webhooks if event in hook.events]

    async def _send(
        self, event: WebhookEvent, data: Data, *, ref: str, to: Sequence[WebhookSettings] = ()
    ) -> list[str]:
        went = []
        for hook in to or self._for(event):
            await self.enqueue(hook.name, event, {"data": data}, ref=ref)
            went.append(f"webhook:{hook.name}")
        return went

    async def run_finished(self, result: AuditResult) -> None:
        if not self._for("report"):
            return
        counts = await self.remediation_counts(result.run_id)
        await self._send(
            "report", report_data(result, remediations=counts), ref=f"run:{result.run_id}"
        )

    async def notice(self, items: Sequence[PlanItem], policies: dict[str, Policy]) -> str | None:
        if not self._for("notice"):
            return None
        now = self.clock()
        data = notice_data(items, now=now, policies=policies)
        await self._send("notice", data, ref=f"notices:{iso(now)}")
        return "webhook"

    async def request(self, records: Sequence[RemediationRecord]) -> list[int]:
        if not self._for("approval_request"):
            return []
        asked = []
        for record in records:
            if record.state != "awaiting_approval":
                continue
            await self._send("approval_request", request_data(record), ref=f"rem:{record.id}")
            asked.append(record.id)
        return asked

    async def update(self, record: RemediationRecord, status: str, detail: str) -> None:
        if self._for("outcome"):
            await self._send("outcome", update_data(record, status, detail), ref=f"rem:{record.id}")

    async def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        if not self._for("outcome"):
            return
        for outcome in outcomes:
            await self._send("outcome", outcome_data(outcome), ref=f"rem:{outcome.remediation_id}")

    async def digest(self, digest: Digest) -> list[str]:
        hooks = {hook.name: hook for hook in self._for("digest")}
        contact = self.contacts(digest.owner)
        named = contact.webhook if contact is not None else None
        for hook in self.config.webhooks:
            if hook.name == named:
                hooks.setdefault(hook.name, hook)
        if not hooks:
            return []
        return await self._send(
            "digest",
            digest_data(digest),
            ref=f"digest:{digest.owner}:{digest.created_at}",
            to=list(hooks.values()),
        )


class WebhookTransport:
    """Sends a webhook delivery: builds its document now, signs it, POSTs it."""

    def __init__(
        self, config: Config, client: httpx.AsyncClient, *, config_dir: Path | None = None
    ) -> None:
        self.config, self.client, self.config_dir = config, client, config_dir

    async def send(self, delivery: Delivery, *, now: datetime) -> None:
        hook = next((h for h in self.config.webhooks if h.name == delivery.destination), None)
        if hook is None:
            raise DeliveryError(
                f"webhook {delivery.destination} is no longer in the config", permanent=True
            )
        what = f"webhook {hook.name}"
        secret = named_secret(
            f"{what} signing secret", hook.secret_env, hook.secret_file, self.config_dir
        )
        body = encoded(document(delivery, sent_at=now))
        timestamp = str(int(now.timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "neon-governor",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            DELIVERY_HEADER: str(delivery.id),
        }
        await post(self.client, what, hook.url, body=body, headers=headers, secrets=(secret,))
