"""The one authorization function every interactive path goes through. It fails closed.

Why one: approval buttons done badly are a known class of security bug: callbacks that
skip the checks the rest of the app uses, allow-lists that fail open when unset,
approvals not bound to the message they were asked in, the wrong approver list for the
kind of action. Buttons, the snooze controls and the slash command all call
``authorize``; anything it cannot verify is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from governor.config.slack import SlackSettings
from governor.store.encoding import encode_time
from governor.store.remediations import RemediationRecord
from governor.store.slack import ApprovalMessage

Action = Literal["approve", "reject", "keep", "pause", "resume", "status", "plan"]
GroupMembers = Callable[[str], Awaitable[set[str]]]


@dataclass(frozen=True)
class Actor:
    """Who clicked or typed, and where, as Slack's payload says."""

    user_id: str
    team_id: str
    channel_id: str | None = None
    message_ts: str | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def refuse(reason: str) -> Verdict:
    return Verdict(False, reason)


def is_destructive(record: RemediationRecord) -> bool:
    """The class a request is decided in: the record's own flag or the change's (one
    rule for who may approve, how many must, and whether buttons are shown)."""
    return record.irreversible or record.change.irreversible


async def authorize(
    action: Action,
    actor: Actor,
    *,
    settings: SlackSettings,
    team_id: str | None,
    now: datetime,
    group_members: GroupMembers,
    record: RemediationRecord | None = None,
    approval: ApprovalMessage | None = None,
    owner: str | None = None,
    votes: tuple[str, ...] = (),
) -> Verdict:
    """Whether ``actor`` may do ``action`` (on ``record``, asked in ``approval``'s message)."""
    if not actor.user_id or not actor.team_id:
        return refuse("the request does not say who sent it")
    if team_id is None or actor.team_id != team_id:
        return refuse("the request comes from another Slack workspace")
    if action in ("status", "plan"):
        return Verdict(True, "anyone in the workspace may read")
    if action in ("pause", "resume"):
        if await is_approver(actor.user_id, settings, irreversible=False, members=group_members):
            return Verdict(True, "an approver")
        return refuse("only approvers may pause or resume remediation")
    if action == "keep":  # of a resource: any remediation it has does not change who may
        if owner is not None and actor.user_id == owner:
            return Verdict(True, "the resource's owner")
        if await is_approver(actor.user_id, settings, irreversible=False, members=group_members):
            return Verdict(True, "an approver")
        return refuse("only the resource's owner or an approver may keep it")
    if record is None:
        return refuse("no such request (it may have been replaced)")
    irreversible = is_destructive(record)
    # approve / reject: bound to the exact message the request was posted in
    if approval is None or approval.channel is None or approval.ts is None:
        return refuse("this approval request was never posted")
    if actor.channel_id != approval.channel or actor.message_ts != approval.ts:
        return refuse("the click does not come from the message this request was posted in")
    if record.state != "awaiting_approval":
        who = f" by {record.decided_by}" if record.decided_by else ""
        return refuse(f"already {record.state}{who}; nothing changed")
    if record.approval_expires_at is not None and record.approval_expires_at <= encode_time(now):
        return refuse(f"this request expired at {record.approval_expires_at[:19]} UTC")
    if not await is_approver(
        actor.user_id, settings, irreversible=irreversible, members=group_members
    ):
        kind = "irreversible actions" if irreversible else "this action"
        return refuse(f"you are not an approver for {kind}")
    if action == "approve":
        if actor.user_id in votes:
            return refuse("you already approved it; another approver must too")
        required = settings.required_for(irreversible, record.change.kind)
        if required >= 2 and owner is not None and actor.user_id == owner:
            return refuse(
                "under the two-person rule the owner does not approve changes to their own "
                "resource; two other approvers must"
            )
    return Verdict(True, "an approver")


async def is_approver(
    user_id: str, settings: SlackSettings, *, irreversible: bool, members: GroupMembers
) -> bool:
    """Listed, or in a listed group as Slack says now (``members`` is read per decision, so
    someone removed from a group approves nothing after their removal)."""
    users, groups = settings.approvers_for(irreversible)
    if user_id in users:
        return True
    for group in groups:
        try:
            if user_id in await members(group):
                return True
        except Exception:  # a group that cannot be read grants nothing
            continue
    return False
