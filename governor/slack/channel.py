"""Slack as a ``PeopleChannel``: the run report (with its Keep buttons), the approvals and
owners' digests.

Why a thin pair: the report (``SlackNotifier``) and the approval messages (``SlackApprovals``)
each own their rendering and outbox rows; the runtime hands out this one object, so the
commands and the daemon reach Slack only through the channel seam. A digest goes to its
owner's ``slack_channel`` (``contacts`` names it), through the same outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from governor.config.owners import OwnerContact
from governor.notify.documents import Digest
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.cycle import NoticeSink
from governor.remediate.execute import Outcome
from governor.slack.approvals import SlackApprovals
from governor.slack.digest_message import digest_message
from governor.slack.notifier import SlackNotifier
from governor.store import slack as slack_table
from governor.store.remediations import RemediationRecord

Contacts = Callable[[str], OwnerContact | None]  # an owner's contact entry, by owner name


@dataclass(frozen=True)
class SlackChannel:
    reports: SlackNotifier
    approvals: SlackApprovals
    contacts: Contacts | None = None  # None: no owners set up, no digest goes to Slack

    async def run_finished(self, result: AuditResult) -> None:
        await self.reports.run_finished(result)

    def notices(self, policies: Iterable[Policy]) -> NoticeSink:
        return self.approvals.notices(policies)

    async def request(self, records: Sequence[RemediationRecord]) -> list[int]:
        return await self.approvals.request(records)

    async def update(self, record: RemediationRecord, status: str, detail: str) -> None:
        await self.approvals.update(record, status, detail)

    async def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        await self.approvals.outcomes(outcomes)

    async def digest(self, digest: Digest) -> list[str]:
        """Queue the digest in the owner's ``slack_channel``; [] when they have none (or
        Slack is a webhook only: it posts to one channel, with no buttons)."""
        contact = self.contacts(digest.owner) if self.contacts is not None else None
        channel = contact.slack_channel if contact is not None else None
        if channel is None or not self.reports.settings.interactive:
            return []
        message = digest_message(digest)
        await self.reports.store.run(
            slack_table.enqueue,
            kind="post",
            channel=channel,
            payload={"text": message.text, "blocks": message.blocks},
            now=self.reports.clock(),
            ref=f"digest:{digest.owner}:{digest.created_at}",
        )
        return [f"slack:{channel}"]
