"""Microsoft Teams: run reports, notices and owners' digests as Adaptive Cards, posted to
a Workflows webhook ("Post to a channel when a webhook request is received"). A run's
report goes only when the run changed something (as ``[slack] report = "changes"``).

Why report-only: a Workflows webhook cannot call us back, so approvals stay with Slack
and the CLI; each card says which command decides. The webhook's URL carries its own
signature, so it is a secret: read from ``[teams] webhook_env``/``webhook_file`` (reports,
notices) or an owner's ``teams_webhook_env``/``teams_webhook_file`` (digests) when
sending, never stored or logged. Text from Neon is escaped for the TextBlock markdown
subset (``governor.channels.text.card_text``). Delivery is at-least-once; each card
carries its delivery id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from governor.channels.base import Contacts, OutboxChannel, owner_destination
from governor.channels.documents import Data, digest_data, iso, notice_data, report_data
from governor.channels.text import card_text, money
from governor.channels.transport import DeliveryError, checked_url, named_secret, post
from governor.config import Config
from governor.notify.documents import Digest
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.plan import PlanItem
from governor.store.deliveries import Delivery

SHARED = "teams"  # the destination of [teams]'s webhook (reports and notices)
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_ROWS = 25  # a Workflows card is limited in size (about 28 KB)


def _block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def card_message(title: str, body: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The Workflows webhook's message shape around one Adaptive Card."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": CARD_SCHEMA,
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "msteams": {"width": "Full"},
                    "body": [_block(title, size="Large", weight="Bolder"), *body],
                },
            }
        ],
    }


def _facts(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def report_card(data: Data) -> dict[str, Any]:
    counts = data["counts"]
    savings = data["savings"]
    title = f"Neon governance report, run {int(data['run_id'])}"
    if not data["complete"]:
        title += " (incomplete sweep)"
    remediations = ", ".join(
        f"{int(n)} {card_text(state.replace('_', ' '), 40)}"
        for state, n in counts["remediations"].items()
    )
    body: list[dict[str, Any]] = [
        _facts(
            [
                ("Findings", str(int(counts["findings"]))),
                ("New in this run", str(int(counts["new"]))),
                ("Resolved", str(int(counts["resolved"]))),
                ("Est. monthly savings", f"{money(float(savings['monthly_usd']))}/mo"),
                ("Remediations", remediations or "none"),
            ]
        )
    ]
    if savings.get("counted_once_note"):
        body.append(_block(card_text(savings["counted_once_note"]), isSubtle=True))
    for finding in data["top_findings"]:
        body.append(_finding_block(finding))
    if data["more_findings"]:
        body.append(_block(f"+{int(data['more_findings'])} more: `neon-governor findings`"))
    if not data["top_findings"]:
        body.append(_block("No findings in this run."))
    return card_message(title, body)


def _finding_block(item: Data) -> dict[str, Any]:
    usd = item.get("monthly_usd")
    name = card_text(item["name"], 150)
    return _block(
        f"**{name}** · {card_text(item['resource_type'], 30)} "
        f"{card_text(item['resource_id'], 80)} · {card_text(item['policy'], 80)}\n\n"
        f"{card_text(item['summary'], 300)} · {money(usd)}/mo",
        spacing="Small",
    )


def notice_card(data: Data) -> dict[str, Any]:
    count = int(data["count"])
    body = [
        _block(
            f"{count} change(s) to Neon noticed. Each runs no sooner than said below: "
            "grace periods count from this notice."
        )
    ]
    items = data["items"]
    for item in items[:MAX_ROWS]:
        change = item.get("request") or item.get("change") or ""
        body.append(
            _block(
                f"**{card_text(item['name'], 150)}** · {card_text(item['resource_type'], 30)} "
                f"{card_text(item['resource_id'], 80)}: {card_text(change, 150)} by "
                f"{card_text(item['policy'], 80)}, {card_text(item['when'], 120)}",
                spacing="Small",
            )
        )
    more = int(data.get("more", 0)) + max(0, len(items) - MAX_ROWS)
    footer = "To stop one: `neon-governor keep`, `neon-governor reject`, or `pause`."
    if more:
        footer = f"And {more} more (see `neon-governor plan`). " + footer
    body.append(_block(footer, isSubtle=True))
    return card_message("Neon governor: changes coming", body)


def digest_card(data: Data) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        _facts(
            [
                ("Open", str(int(data["open_count"]))),
                ("New", str(int(data["new_count"]))),
                ("Resolved", str(int(data["resolved_count"]))),
                ("Monthly savings", f"{money(float(data['total_usd']))}/mo"),
            ]
        )
    ]
    if data.get("counted_once_note"):
        body.append(_block(card_text(data["counted_once_note"]), isSubtle=True))
    items = data["items"]
    for item in items[:MAX_ROWS]:
        block = _finding_block(item)
        block["text"] = f"[{card_text(item['status'], 20)}] " + block["text"]
        if item.get("approve_command"):
            block["text"] += f" · approve: `{card_text(item['approve_command'], 80)}`"
        body.append(block)
    more = int(data.get("truncated", 0)) + max(0, len(items) - MAX_ROWS)
    if more:
        body.append(_block(f"+{more} more open findings not listed", isSubtle=True))
    return card_message(f"Neon digest for {card_text(data['owner'], 80)}", body)


def changed(result: AuditResult) -> bool:
    opened = any(finding.first_run_id == result.run_id for finding in result.findings)
    return opened or bool(result.resolved) or not result.complete


class TeamsChannel(OutboxChannel):
    """Enqueues cards: run reports and notices to ``[teams]``, digests to owners' webhooks."""

    name = "teams"

    async def run_finished(self, result: AuditResult) -> None:
        """A card for a run that changed something (new or resolved findings, or an
        incomplete sweep): people read Teams, and the daemon runs every few minutes."""
        if not self.config.teams.configured or not changed(result):
            return
        counts = await self.remediation_counts(result.run_id)
        card = report_card(report_data(result, remediations=counts))
        await self.enqueue(SHARED, "report", {"card": card}, ref=f"run:{result.run_id}")

    async def notice(self, items: Sequence[PlanItem], policies: dict[str, Policy]) -> str | None:
        if not self.config.teams.configured:
            return None
        now = self.clock()
        card = notice_card(notice_data(items, now=now, policies=policies))
        await self.enqueue(SHARED, "notice", {"card": card}, ref=f"notices:{iso(now)}")
        return "teams"

    async def digest(self, digest: Digest) -> list[str]:
        contact = self.contacts(digest.owner)
        if contact is None or not (contact.teams_webhook_env or contact.teams_webhook_file):
            return []
        await self.enqueue(
            owner_destination(digest.owner),
            "digest",
            {"card": digest_card(digest_data(digest))},
            ref=f"digest:{digest.owner}:{digest.created_at}",
        )
        return ["teams"]


class TeamsTransport:
    """POSTs a Teams delivery's card to the webhook its destination names."""

    def __init__(
        self,
        config: Config,
        client: httpx.AsyncClient,
        contacts: Contacts,
        *,
        config_dir: Path | None = None,
    ) -> None:
        self.config, self.client, self.contacts = config, client, contacts
        self.config_dir = config_dir

    def _url(self, destination: str) -> str:
        if destination == SHARED:
            teams = self.config.teams
            if not teams.configured:
                raise DeliveryError("[teams] is no longer configured", permanent=True)
            return named_secret(
                "[teams] webhook", teams.webhook_env, teams.webhook_file, self.config_dir
            )
        owner = destination.removeprefix("owner:")
        contact = self.contacts(owner)
        if contact is None or not (contact.teams_webhook_env or contact.teams_webhook_file):
            raise DeliveryError(f"owner {owner} has no Teams webhook any more", permanent=True)
        return named_secret(
            f"owner {owner}'s Teams webhook",
            contact.teams_webhook_env,
            contact.teams_webhook_file,
            self.config_dir,
        )

    async def send(self, delivery: Delivery, *, now: datetime) -> None:
        _ = now
        what = f"Teams webhook for {delivery.destination}"
        url = checked_url(what, self._url(delivery.destination))
        card = delivery.payload.get("card", {})
        try:
            card["attachments"][0]["content"]["body"].append(
                _block(f"neon-governor delivery {delivery.id}", isSubtle=True, size="Small")
            )
        except (KeyError, IndexError, TypeError, AttributeError):
            raise DeliveryError(
                f"{what}: delivery {delivery.id} holds no card", permanent=True
            ) from None
        body = json.dumps(card, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": "neon-governor"}
        await post(self.client, what, url, body=body, headers=headers, secrets=(url,))
