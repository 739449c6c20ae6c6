"""Approval requests in Slack: one message per policy and owner per run, updated as it moves.

Why grouped: a first run can ask for dozens of changes; one message each floods the
channel. Awaiting requests of one policy and one owner (the findings' ``owned_by``) in one
run share a message (``approval_group_message``); each item keeps its own approval row,
token and votes, and its own message (``approval_message``) is posted in the thread when
someone asks for it (Show items). A group of one is the classic single message.

Why through the outbox: a request asked while Slack is down is asked when it is back, in
order; the tokens (the button values) are recorded before the message is sent, and a
click is checked against the message Slack says it came from.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from governor.config.owners import OwnerContact
from governor.config.slack import SlackSettings
from governor.policy import Policy
from governor.remediate.cycle import expire_approvals
from governor.remediate.execute import Outcome
from governor.savings.totals import count_once
from governor.slack.approval_group_message import GroupLine, group_message
from governor.slack.approval_message import approval_message, approval_status_message
from governor.slack.authorize import is_destructive, owner_may_approve
from governor.slack.messages import SlackMessage
from governor.slack.notices import SlackNotices
from governor.store import Store, approval_groups, remediations
from governor.store import slack as slack_table
from governor.store.approval_groups import GroupState
from governor.store.remediations import RemediationRecord

OUTCOME_STATUS = {
    "succeeded": "done",
    "failed": "failed",
    "skipped": "skipped",
    "expired": "expired",
    "rejected": "rejected",
}
# What an item's own message says when it is first shown after it was decided.
STATE_STATUS = {
    "approved": "approved",
    "executing": "running",
    "waiting_operations": "running",
    "succeeded": "done",
    "failed": "failed",
    "skipped": "skipped",
    "expired": "expired",
    "rejected": "rejected",
}
Wake = Callable[[], None]


@dataclass(frozen=True)
class SlackApprovals:
    store: Store
    settings: SlackSettings
    clock: Callable[[], datetime]
    # ``[owners]`` contacts: an owner with approve_own gets buttons on its reversible items
    owners: Sequence[OwnerContact] = ()
    # called after a priority (click feedback) message is enqueued: wakes the sender
    wake: Wake | None = field(default=None, compare=False)

    @property
    def contacts(self) -> Mapping[str, OwnerContact]:
        return {contact.name: contact for contact in self.owners}

    async def request(self, records: Sequence[RemediationRecord]) -> list[int]:
        """Ask for every awaiting remediation not asked yet: one message per policy, owner
        and run (a group of one: the single message). Returns the ids asked now."""
        channel = self.settings.approvals_to
        if channel is None:
            return []
        groups: dict[tuple[str, str | None, int | None], list[RemediationRecord]] = {}
        seen: set[int] = set()
        for record in records:
            if record.state != "awaiting_approval" or record.approval_expires_at is None:
                continue
            if record.id in seen:
                continue
            seen.add(record.id)
            if await self.store.run(slack_table.approval_for, record.id) is not None:
                continue  # asked already: never asked twice
            owner = await self.store.run(approval_groups.owner_of, record)
            groups.setdefault((record.policy, owner, record.run_id), []).append(record)
        asked: list[int] = []
        for (policy, owner, run_id), members in groups.items():
            if len(members) == 1:
                posted = await self._request_one(members[0], channel, owner)
            else:
                posted = await self._request_group(members, channel, policy, owner, run_id)
            if posted:  # else asked meanwhile (the pass and the Slack job at once)
                asked.extend(record.id for record in members)
        return asked

    async def _request_one(
        self, record: RemediationRecord, channel: str, owner: str | None
    ) -> bool:
        token = secrets.token_urlsafe(24)
        message = self._item_message(record, token, owned_by=owner, votes=[])
        outbox_id = await self.store.run(
            approval_groups.ask,
            channel=channel,
            payload=_payload(message),
            ref=f"remediation:{record.id}",
            items=[(record.id, token)],
            group=None,
            now=self.clock(),
        )
        return outbox_id is not None

    async def _request_group(
        self,
        records: Sequence[RemediationRecord],
        channel: str,
        policy: str,
        owner: str | None,
        run_id: int | None,
    ) -> bool:
        ordered = sorted(records, key=lambda r: (-(r.estimate_usd or 0.0), r.resource_name, r.id))
        token = secrets.token_urlsafe(24)
        findings = await self.store.run(approval_groups.findings_of, ordered)
        message = self._group_message(
            token,
            policy=policy,
            owner=owner,
            records=ordered,
            votes={},
            findings=findings,
            unshown=len(ordered),
        )
        outbox_id = await self.store.run(
            approval_groups.ask,
            channel=channel,
            payload=_payload(message),
            ref=f"approval-group:{token[:12]}",
            items=[(record.id, secrets.token_urlsafe(24)) for record in ordered],
            group=(token, policy, owner, run_id),
            now=self.clock(),
        )
        return outbox_id is not None

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

    def has_approvers(self, record: RemediationRecord, owned_by: str | None) -> bool:
        """Whether anyone may approve it from Slack (else no buttons, the CLI hint)."""
        users, groups = self.settings.approvers_for(is_destructive(record))
        if users or groups:
            return True
        contact = self.contacts.get(owned_by) if owned_by else None
        return owner_may_approve(None, record, contact, self.settings)

    # Rendering -------------------------------------------------------------------------

    def _item_message(
        self,
        record: RemediationRecord,
        token: str,
        *,
        owned_by: str | None,
        votes: Sequence[str],
        mention: str | None = None,
    ) -> SlackMessage:
        """The item's own message: the request while it waits, its status once decided."""
        if record.state == "awaiting_approval" and record.approval_expires_at is not None:
            destructive = is_destructive(record)
            return approval_message(
                record,
                approval_id=token,
                expires_at=datetime.fromisoformat(record.approval_expires_at),
                owner=mention,
                required=self.settings.required_for(destructive, record.change.kind),
                votes=list(votes),
                buttons=self.has_approvers(record, owned_by),
            )
        status = STATE_STATUS.get(record.state, record.state)
        return approval_status_message(record, status=status, detail=record.reason or "")

    def _group_message(
        self,
        token: str,
        *,
        policy: str,
        owner: str | None,
        records: Sequence[RemediationRecord],
        votes: Mapping[int, Sequence[str]],
        findings: Sequence[Any],
        unshown: int,
    ) -> SlackMessage:
        lines = [
            GroupLine(
                record,
                votes=len(votes.get(record.id, ())),
                required=self.settings.required_for(is_destructive(record), record.change.kind),
            )
            for record in records
        ]
        estimates = [finding.estimate for finding in findings]
        total = count_once(estimates).monthly_usd if any(estimates) else None
        return group_message(
            token=token,
            policy=policy,
            owner=owner,
            lines=lines,
            total_usd=total,
            buttons=any(self.has_approvers(record, owner) for record in records),
            unshown=unshown,
        )

    def _rendered_group(self, state: GroupState) -> SlackMessage:
        order = {item.remediation_id: index for index, item in enumerate(state.items)}
        records = sorted(
            state.records,
            key=lambda r: (-(r.estimate_usd or 0.0), r.resource_name, order.get(r.id, 0)),
        )
        group = state.group
        return self._group_message(
            group.token,
            policy=group.policy,
            owner=group.owner,
            records=records,
            votes=state.votes,
            findings=state.findings,
            unshown=sum(item.item_outbox_id is None for item in state.items),
        )

    # Updates ---------------------------------------------------------------------------

    async def update(
        self,
        record: RemediationRecord,
        status: str,
        detail: str,
        *,
        priority: int = 0,
        regroup: bool = True,
    ) -> None:
        """Replace the request's buttons with where it stands (or the votes so far). An item
        of a group: its thread message (once shown) and, unless ``regroup`` is False (the
        caller re-renders the group once for many items), the group message.
        ``priority`` 1: a click's feedback, sent before bulk posts."""
        approval = await self.store.run(slack_table.approval_for, record.id)
        if approval is None:
            return
        item = await self.store.run(approval_groups.item_for, record.id)
        parent_id = approval.outbox_id if item is None else item.item_outbox_id
        if parent_id is not None:
            message = await self._status_message(
                record, approval.token, approval.owner, status, detail
            )
            parent = await self.store.run(slack_table.message, parent_id)
            await self.store.run(
                slack_table.enqueue,
                kind="update",
                channel=parent.channel,
                payload=_payload(message),
                now=self.clock(),
                parent_id=parent_id,
                ref=f"remediation:{record.id}",
                priority=priority,
            )
        if item is not None and regroup:
            await self.render_group(item.group_id, priority=priority)
        elif priority:
            self._wake()

    async def _status_message(
        self,
        record: RemediationRecord,
        token: str,
        mention: str | None,
        status: str,
        detail: str,
    ) -> SlackMessage:
        if status == "waiting" and record.approval_expires_at is not None:
            owned_by = await self.store.run(approval_groups.owner_of, record)
            votes = await self.store.run(slack_table.votes, record.id)
            return self._item_message(
                record, token, owned_by=owned_by, votes=votes, mention=mention
            )
        return approval_status_message(
            record, status=status, detail=await self._with_approvers(record, status, detail)
        )

    async def render_group(self, group_id: int, *, priority: int = 0) -> None:
        """Update the group message with every item's current state."""
        state = await self.store.run(approval_groups.state, group_id)
        message = self._rendered_group(state)
        parent = await self.store.run(slack_table.message, state.group.outbox_id)
        await self.store.run(
            slack_table.enqueue,
            kind="update",
            channel=parent.channel,
            payload=_payload(message),
            now=self.clock(),
            parent_id=state.group.outbox_id,
            ref=f"approval-group:{state.group.token[:12]}",
            priority=priority,
        )
        if priority:
            self._wake()

    async def show_items(self, group_id: int, *, priority: int = 1) -> list[int]:
        """Post each item's own message in the group's thread, once (items shown before
        are not posted again); then the group message drops Show items when all are.

        The posts are bulk (priority 0: dozens of them must not hold up another
        approver's click feedback); ``priority`` is the group message's update."""
        state = await self.store.run(approval_groups.state, group_id)
        owner = state.group.owner
        payloads = {
            record.id: _payload(
                self._item_message(
                    record, item.token, owned_by=owner, votes=state.votes.get(record.id, [])
                )
            )
            for item, record in zip(state.items, state.records, strict=True)
            if item.item_outbox_id is None
        }
        posted = await self.store.run(approval_groups.show, group_id, payloads, now=self.clock())
        if posted:
            await self.render_group(group_id, priority=priority)
        return posted

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
        records = []
        for outcome in outcomes:
            status = OUTCOME_STATUS.get(outcome.state)
            if status is None:
                continue
            record = await self.store.run(remediations.get, outcome.remediation_id)
            records.append((record, status, outcome.reason))
        await self._update_many(records)

    async def reap(self) -> list[RemediationRecord]:
        """Expire undecided requests past their time, and say so on their messages."""
        expired = await expire_approvals(self.store, now=self.clock(), actor="slack-reaper")
        await self._update_many(
            [(record, "expired", record.reason or "not decided in time") for record in expired]
        )
        return expired

    async def _update_many(self, updates: Sequence[tuple[RemediationRecord, str, str]]) -> None:
        """Each item's message, then each group message once (not once per item)."""
        groups: list[int] = []
        for record, status, detail in updates:
            await self.update(record, status, detail, regroup=False)
            item = await self.store.run(approval_groups.item_for, record.id)
            if item is not None and item.group_id not in groups:
                groups.append(item.group_id)
        for group_id in groups:
            await self.render_group(group_id)

    def _wake(self) -> None:
        if self.wake is not None:
            self.wake()


def _payload(message: SlackMessage) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks}
