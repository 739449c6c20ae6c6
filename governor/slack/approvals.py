"""Approval requests in Slack: one message per remediation, updated as it moves.

Why through the outbox: a request asked while Slack is down is asked when it is back, in
order; the approval's token (the button value) is recorded before the message is sent,
and the click is checked against the message Slack says it came from.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from governor.config.slack import SlackSettings
from governor.policy import Policy
from governor.remediate.cycle import expire_approvals
from governor.remediate.execute import Outcome
from governor.slack.approval_message import approval_message, approval_status_message
from governor.slack.authorize import is_destructive
from governor.slack.notices import SlackNotices
from governor.store import Store, remediations
from governor.store import slack as slack_table
from governor.store.remediations import RemediationRecord

OUTCOME_STATUS = {
    "succeeded": "done",
    "failed": "failed",
    "skipped": "skipped",
    "expired": "expired",
    "rejected": "rejected",
}


@dataclass(frozen=True)
class SlackApprovals:
    store: Store
    settings: SlackSettings
    clock: Callable[[], datetime]

    async def request(self, records: Sequence[RemediationRecord]) -> list[int]:
        """Post a request for each awaiting remediation that has none yet; their ids."""
        channel = self.settings.approvals_to
        if channel is None:
            return []
        asked = []
        for record in records:
            if record.state != "awaiting_approval" or record.approval_expires_at is None:
                continue
            if await self.store.run(slack_table.approval_for, record.id) is not None:
                continue
            token = secrets.token_urlsafe(24)
            destructive = is_destructive(record)
            message = approval_message(
                record,
                approval_id=token,
                expires_at=datetime.fromisoformat(record.approval_expires_at),
                owner=None,
                required=self.settings.required_for(destructive, record.change.kind),
                votes=[],
                buttons=self._has_approvers(destructive),
            )
            outbox_id = await self.store.run(
                slack_table.enqueue,
                kind="post",
                channel=channel,
                payload={"text": message.text, "blocks": message.blocks},
                now=self.clock(),
                ref=f"remediation:{record.id}",
            )
            await self.store.run(slack_table.add_approval,
                remediation_id=record.id, token=token, outbox_id=outbox_id, owner=None,
                now=self.clock(),
            )  # fmt: skip
            asked.append(record.id)
        return asked

    def notices(self, policies: Iterable[Policy]) -> SlackNotices:
        """The pass's notices before acting, into the report channel (red-team 11)."""
        return SlackNotices(
            self.store, self.settings, self.clock, {policy.name: policy for policy in policies}
        )

    async def request_unasked(self) -> list[int]:
        """Post every awaiting request not yet asked in Slack, whoever created it (a CLI
        ``apply`` creates requests too, and only the daemon is there to post them)."""
        waiting = await self.store.run(remediations.listed, states=["awaiting_approval"])
        return await self.request(waiting)

    def _has_approvers(self, destructive: bool) -> bool:
        users, groups = self.settings.approvers_for(destructive)
        return bool(users or groups)

    async def update(self, record: RemediationRecord, status: str, detail: str) -> None:
        """Replace the request's buttons with where it stands (or the votes so far)."""
        approval = await self.store.run(slack_table.approval_for, record.id)
        if approval is None:
            return
        destructive = is_destructive(record)
        if status == "waiting" and record.approval_expires_at is not None:
            message = approval_message(
                record,
                approval_id=approval.token,
                expires_at=datetime.fromisoformat(record.approval_expires_at),
                owner=approval.owner,
                required=self.settings.required_for(destructive, record.change.kind),
                votes=await self.store.run(slack_table.votes, record.id),
                buttons=self._has_approvers(destructive),
            )
        else:
            message = approval_status_message(
                record, status=status, detail=await self._with_approvers(record, status, detail)
            )
        parent = await self.store.run(slack_table.message, approval.outbox_id)
        await self.store.run(
            slack_table.enqueue,
            kind="update",
            channel=parent.channel,
            payload={"text": message.text, "blocks": message.blocks},
            now=self.clock(),
            parent_id=approval.outbox_id,
            ref=f"remediation:{record.id}",
        )

    async def _with_approvers(self, record: RemediationRecord, status: str, detail: str) -> str:
        """The final versions keep who approved it: the outcome alone would drop them."""
        if status not in ("done", "failed", "skipped") or "approved by" in detail:
            return detail
        voted = await self.store.run(slack_table.votes, record.id)
        if voted:
            who = ", ".join(f"<@{user}>" for user in voted)
        elif record.decided_by:
            who = record.decided_by.removeprefix("slack:")
            who = f"<@{who}>" if record.decided_by.startswith("slack:") else who
        else:
            return detail
        return f"approved by {who} · {detail}" if detail else f"approved by {who}"

    async def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            status = OUTCOME_STATUS.get(outcome.state)
            if status is None:
                continue
            record = await self.store.run(remediations.get, outcome.remediation_id)
            await self.update(record, status, outcome.reason)

    async def reap(self) -> list[RemediationRecord]:
        """Expire undecided requests past their time, and say so on their messages."""
        expired = await expire_approvals(self.store, now=self.clock(), actor="slack-reaper")
        for record in expired:
            await self.update(record, "expired", record.reason or "not decided in time")
        return expired
