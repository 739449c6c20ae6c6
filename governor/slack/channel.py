"""Slack as a ``PeopleChannel``: the run report (with its Keep buttons) and the approvals.

Why a thin pair: the report (``SlackNotifier``) and the approval messages (``SlackApprovals``)
each own their rendering and outbox rows; the runtime hands out this one object, so the
commands and the daemon reach Slack only through the channel seam.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from governor.notify.documents import Digest
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.cycle import NoticeSink
from governor.remediate.execute import Outcome
from governor.slack.approvals import SlackApprovals
from governor.slack.notifier import SlackNotifier
from governor.store.remediations import RemediationRecord


@dataclass(frozen=True)
class SlackChannel:
    reports: SlackNotifier
    approvals: SlackApprovals

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
        _ = digest
        return []  # issue 19: the owner's Slack channel (governor/slack/digest_message.py)
