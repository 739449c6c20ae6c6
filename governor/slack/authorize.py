"""The one authorization function every interactive path goes through. It fails closed.

Why one: approval buttons done badly are a known class of security bug: callbacks that
skip the checks the rest of the app uses, allow-lists that fail open when unset,
approvals not bound to the message they were asked in, the wrong approver list for the
kind of action. Buttons, the snooze controls and the slash command all call
``authorize``; anything it cannot verify is refused with the reason.

Owner approvers (``[owners]`` with ``approve_own``): the owner's ``slack_users`` may decide
reversible changes to that owner's resources, when one approval suffices; never
irreversible ones, which stay with the (destructive) approvers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from governor.config.owners import OwnerContact
from governor.config.slack import SlackSettings
from governor.store.encoding import encode_time
from governor.store.remediations import RemediationRecord
from governor.store.slack import ApprovalMessage

Action = Literal["approve", "reject", "keep", "pause", "resume", "status", "plan", "show"]
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
    owner_contact: OwnerContact | None = None,
    posted_in: tuple[str | None, str | None] | None = None,
) -> Verdict:
    """Whether ``actor`` may do ``action`` (on ``record``, asked in ``approval``'s message).

    ``owner_contact``: the ``[owners]`` entry owning the record's resource (its approve_own
    users may decide it when reversible). ``posted_in``: (channel, ts) of a grouped
    request's message, which a ``show`` click must come from.
    """
    if not actor.user_id or not actor.team_id:
        return refuse("the request does not say who sent it")
    if team_id is None or actor.team_id != team_id:
        return refuse("the request comes from another Slack workspace")
    if action in ("status", "plan"):
        return Verdict(True, "anyone in the workspace may read")
    if action == "show":  # lists a group's items in its thread: reading, bound to its message
        if posted_in is None or posted_in[0] is None or posted_in[1] is None:
            return refuse("this approval request was never posted")
        if (actor.channel_id, actor.message_ts) != posted_in:
            return refuse("the click does not come from the message this request was posted in")
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
    reason = "an approver"
    if not await is_approver(
        actor.user_id, settings, irreversible=irreversible, members=group_members
    ):
        if not owner_may_approve(actor.user_id, record, owner_contact, settings):
            kind = "irreversible actions" if irreversible else "this action"
            note = _owner_note(actor.user_id, record, owner_contact, settings)
            return refuse(f"you are not an approver for {kind}{note}")
        reason = f"an approver of {owner_contact.name if owner_contact else '?'}'s resources"
    if action == "approve":
        if actor.user_id in votes:
            return refuse("you already approved it; another approver must too")
        required = settings.required_for(irreversible, record.change.kind)
        if required >= 2 and owner is not None and actor.user_id == owner:
            return refuse(
                "under the two-person rule the owner does not approve changes to their own "
                "resource; two other approvers must"
            )
    return Verdict(True, reason)


def owner_may_approve(
    user_id: str | None,
    record: RemediationRecord,
    contact: OwnerContact | None,
    settings: SlackSettings,
) -> bool:
    """Whether ``user_id`` decides ``record`` as one of its owner's ``slack_users`` (None:
    whether anyone would). Only with ``approve_own``, only reversible changes, and only
    when one approval suffices: under the two-person rule an owner does not approve
    changes to their own resources."""
    if contact is None or not contact.approve_own or is_destructive(record):
        return False
    if settings.required_for(False, record.change.kind) > 1:
        return False
    return bool(contact.slack_users) if user_id is None else user_id in contact.slack_users


async def counts_as_approver(
    user_id: str,
    record: RemediationRecord,
    settings: SlackSettings,
    *,
    members: GroupMembers,
    owner_contact: OwnerContact | None = None,
) -> bool:
    """Whether a vote by ``user_id`` on ``record`` counts now (a listed approver, a member
    of a listed group, or an approve_own user of the resource's owner)."""
    irreversible = is_destructive(record)
    if await is_approver(user_id, settings, irreversible=irreversible, members=members):
        return True
    return owner_may_approve(user_id, record, owner_contact, settings)


def _owner_note(
    user_id: str, record: RemediationRecord, contact: OwnerContact | None, settings: SlackSettings
) -> str:
    """Why one of the owner's own users was refused, when that is the case."""
    if contact is None or not contact.approve_own or user_id not in contact.slack_users:
        return ""
    if is_destructive(record):
        return f" (as {contact.name}'s approver you may approve reversible changes only)"
    if settings.required_for(False, record.change.kind) > 1:
        return " (under the two-person rule owners do not approve their own resources)"
    return ""


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
