"""The run report, into the outbox: one message per run (or per change), the CSV in its thread."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.config.slack import SlackSettings
from governor.pipeline.results import AuditResult
from governor.slack.outbox import WEBHOOK_CHANNEL
from governor.slack.report_message import findings_csv, report_message
from governor.store import Store, exemptions, remediations
from governor.store import slack as slack_table


@dataclass(frozen=True)
class SlackNotifier:
    """A ``Notifier``: never raises for Slack's sake (the outbox sends later)."""

    store: Store
    settings: SlackSettings
    clock: Callable[[], datetime]
    # who owns what, as far as Neon and Slack agree: (type, id) -> Slack user id
    owners: Callable[[AuditResult], Awaitable[Mapping[tuple[str, str], str]]] | None = None

    async def run_finished(self, result: AuditResult) -> None:
        channel = self.settings.channel or (WEBHOOK_CHANNEL if self.settings.webhook_url else None)
        if self.settings.report == "never" or channel is None:
            return
        if self.settings.report == "changes" and not self._changed(result):
            return
        # this run's remediations only: the store holds every run's (F6 showed totals)
        records = await self.store.run(remediations.listed)
        counts: dict[str, int] = dict(
            Counter(str(record.state) for record in records if record.run_id == result.run_id)
        )
        now = self.clock()
        exempted = {
            (e.resource_type, e.resource_id): f"until {e.until[:10]} ({e.reason})"
            for e in await self.store.run(exemptions.listed, active_at=now)
        }
        owners: Mapping[tuple[str, str], str] = {}
        if self.owners is not None:
            try:
                owners = await self.owners(result)
            except Exception:  # owners are a courtesy: the report goes out without them
                owners = {}
        message = report_message(result, remediations=counts, owners=owners, exempted=exempted)
        blocks = message.blocks
        if channel == WEBHOOK_CHANNEL:  # report-only: nobody could act on a button
            blocks = [
                _without_controls(block) for block in blocks if block.get("type") != "actions"
            ]
        parent = await self.store.run(
            slack_table.enqueue,
            kind="post",
            channel=channel,
            payload={"text": message.text, "blocks": blocks},
            now=now,
            ref=f"run:{result.run_id}",
        )
        if result.findings and channel != WEBHOOK_CHANNEL:  # a webhook takes no files
            await self.store.run(
                slack_table.enqueue,
                kind="file",
                channel=channel,
                payload={
                    "filename": f"neon-findings-run-{result.run_id}.csv",
                    "title": f"Neon findings, run {result.run_id}",
                    "content": findings_csv(result, owners=owners, exempted=exempted),
                },
                now=now,
                parent_id=parent,
                ref=f"run:{result.run_id}",
            )

    @staticmethod
    def _changed(result: AuditResult) -> bool:
        opened = any(finding.first_run_id == result.run_id for finding in result.findings)
        return opened or bool(result.resolved) or not result.complete


def _without_controls(block: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if key != "accessory"}
