"""People's decisions: approve, reject, keep, revert, pause and resume.

Why here and not in the commands or in Slack: the CLI and every channel to people
(Slack's buttons and slash command today) make the same decisions, and each must be
atomic (the first decision wins; a second one changes nothing and says who decided)
and on the audit log with who, when and why.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import cast, get_args

from governor.durations import parse_duration
from governor.model.actions import MAX_EXPIRY
from governor.model.changes import Change, expiry_at
from governor.policy.operators import parse_timestamp
from governor.remediate.errors import RemediationError
from governor.remediate.execute import Executor
from governor.store import Store, exemptions, remediations
from governor.store import resources as resource_rows
from governor.store.encoding import encode_time
from governor.store.records import StoredResource, StoredResourceType
from governor.store.remediations import NewRemediation, RemediationRecord, RemediationState

logger = logging.getLogger(__name__)


async def approve(
    store: Store, remediation_id: int, *, actor: str, now: datetime
) -> RemediationRecord:
    record = await store.run(remediations.get, remediation_id)
    if record.state != "awaiting_approval":
        raise RemediationError(_already(record))
    if await expire_if_due(store, record, now=now, actor=actor) is not None:
        raise RemediationError(
            f"remediation {record.id} expired at {record.approval_expires_at}; "
            "the next plan asks again if it is still due"
        )
    moved = await store.run(
        remediations.move,
        record.id,
        expected=["awaiting_approval"],
        to="approved",
        now=now,
        actor=actor,
        reason=f"approved by {actor}",
        changes={"decided_by": actor, "decided_at": encode_time(now)},
    )
    if moved is None:
        raise RemediationError(_already(await store.run(remediations.get, remediation_id)))
    return moved


async def expire_if_due(
    store: Store, record: RemediationRecord, *, now: datetime, actor: str
) -> RemediationRecord | None:
    """Move a request nobody decided in time to ``expired``; the moved row, or None when it
    was not due (or another process moved it first)."""
    due = record.approval_expires_at
    if record.state != "awaiting_approval" or due is None or due > encode_time(now, what="now"):
        return None
    return await store.run(
        remediations.move,
        record.id,
        expected=["awaiting_approval"],
        to="expired",
        now=now,
        actor=actor,
        reason=f"not decided before {due}",
    )


# What a "no" does from each state: a pending request is rejected; an approval not yet
# acted on is withdrawn (skipped: the request was granted, then taken back).
_REJECTED_TO: dict[str, RemediationState] = {
    "awaiting_approval": "rejected",
    "approved": "skipped",
}


async def reject(
    store: Store,
    remediation_id: int,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    until: datetime | None = None,
) -> RemediationRecord:
    """Reject a pending request, or withdraw an approval not yet acted on.

    The target comes from the state the row is in, and the move expects exactly that
    state: if another decision lands first, this one changes nothing and says who won.

    ``until``: the "no" becomes an exemption of the resource with that end (the table
    Slack's Keep writes, which the planner honours): held even when the evidence changes,
    and planned again once it ends. Without it, the "no" holds until the evidence changes.
    """
    if until is not None and until <= now:
        raise RemediationError(
            f"--until {until.isoformat(timespec='minutes')} is not in the future "
            f"(now {now.isoformat(timespec='minutes')})"
        )
    record = await store.run(remediations.get, remediation_id)
    to = _REJECTED_TO.get(record.state)
    if to is None:
        raise RemediationError(_already(record))
    why = "rejected" if to == "rejected" else "approval withdrawn"
    moved = await store.run(
        remediations.move,
        record.id,
        expected=[record.state],
        to=to,
        now=now,
        actor=actor,
        reason=f"{why} by {actor}" + (f": {reason}" if reason else ""),
        changes={"decided_by": actor, "decided_at": encode_time(now)},
    )
    if moved is None:
        raise RemediationError(_already(await store.run(remediations.get, remediation_id)))
    if until is not None:
        # written by the decision that won, at its moment: the planner reads an exemption
        # made at or after a person's "no" as that "no" with an end
        await store.run(
            exemptions.add,
            resource_type=moved.resource_type,
            resource_id=moved.resource_id,
            until=until,
            reason=f"{why} (remediation {moved.id})" + (f": {reason}" if reason else ""),
            actor=actor,
            now=now,
        )
    return moved


def parse_until(text: str, *, now: datetime, flag: str = "--until") -> datetime:
    """The end of a "no": a duration from ``now`` (``30d``, ``12h``), or a date or time.

    A bare date (``2026-12-31``) is its 00:00 UTC; a time without a zone is UTC. Raises
    RemediationError saying how to write one, or that the end is not in the future.
    """
    written = text.strip()
    try:
        end = now + parse_duration(written)
    except ValueError:
        try:
            end = datetime.fromisoformat(written.replace("Z", "+00:00"))
        except ValueError:
            raise RemediationError(
                f"{flag} {text!r} is neither a duration (30d, 12h, 2w) nor a date "
                "(2026-12-31, or 2026-12-31T18:00Z)"
            ) from None
        if end.tzinfo is None or end.utcoffset() is None:
            end = end.replace(tzinfo=UTC)
    if end <= now:
        raise RemediationError(
            f"{flag} {text!r} ({end.isoformat(timespec='minutes')}) is not in the future"
        )
    return end.astimezone(UTC)


_STATE_WORDS = {
    "planned": "is planned",
    "awaiting_approval": "is awaiting approval",
    "executing": "is being executed",
    "waiting_operations": "is waiting for its Neon operations",
    "succeeded": "already succeeded",
    "failed": "already failed",
}


def _already(record: RemediationRecord) -> str:
    """One sentence: what the remediation already is, who decided, and why if it adds."""
    state = _STATE_WORDS.get(record.state, f"is already {record.state}")
    decided = record.state in ("approved", "rejected", "skipped", "expired")
    who = f" by {record.decided_by}" if record.decided_by and decided else ""
    extra = record.reason or ""
    if who and f"by {record.decided_by}" in extra:
        # "rejected by cli:root: too risky" -> "too risky"; "approved by cli:root" -> ""
        extra = extra.split(f"by {record.decided_by}", 1)[1].lstrip(": ").strip()
    return (
        f"remediation {record.id} {state}{who}"
        + (f" ({extra})" if extra else "")
        + "; nothing was changed"
    )


def revert_refusal(original: RemediationRecord, reverts: Sequence[RemediationRecord]) -> str | None:
    """Why ``original`` cannot be reverted (None: it can); ``reverts``: rows reverting it.

    Checked before anything is asked or recorded, so a refused revert leaves no row.
    """
    change = original.change
    succeeded = [r for r in reverts if r.state == "succeeded" and r.reverts_id is not None]
    undone = {r.reverts_id for r in succeeded}  # a revert reverted in turn no longer counts
    done = [r for r in succeeded if r.reverts_id == original.id and r.id not in undone]
    if done:
        return f"remediation {original.id} was already reverted by #{done[-1].id}"
    if original.state != "succeeded":
        return f"remediation {original.id} is {original.state}: only a succeeded one is reverted"
    if change.not_revertible is not None:
        return (
            f"remediation {original.id} ({change.kind}) cannot be reverted by the governor: "
            + change.not_revertible
        )
    return None


async def plan_revert(
    store: Store, remediation_id: int, *, actor: str, now: datetime
) -> RemediationRecord:
    """A new remediation restoring what ``remediation_id`` changed, ready to execute."""
    original = await store.run(remediations.get, remediation_id)
    change = original.change
    refused = revert_refusal(original, await store.run(remediations.listed))
    if refused is not None:
        raise RemediationError(refused)
    until = original.recoverable_until
    if change.recoverable_for is not None and until and encode_time(now) > until:
        raise RemediationError(
            f"remediation {original.id} ({change.kind}) can no longer be reverted: Neon's "
            f"recovery ended at {until[:19]} UTC"
        )
    restoring = change.restoring(original.before)
    record, created = await store.run(
        remediations.add,
        NewRemediation(
            account=original.account,
            policy=f"revert of #{original.id}",
            mode="manual",
            findings=[],
            resource_type=original.resource_type,
            resource_id=original.resource_id,
            org_id=original.org_id,
            project_id=original.project_id,
            resource_name=original.resource_name,
            change=restoring,
            before={name: original.after.get(name) for name in change.fields},
            after=restoring.fields,
            disruptive=original.disruptive,
            irreversible=False,
            why=f"revert of remediation {original.id}, asked by {actor}",
            estimate_usd=None,
            state="planned",
            reverts_id=original.id,
        ),
        now=now,
        actor=actor,
    )
    if not created:
        raise RemediationError(
            f"{original.resource_type} {original.resource_id} already has remediation "
            f"{record.id} ({record.state}); wait for it to end"
        )
    return record


async def set_paused(
    store: Store, paused: bool, *, actor: str, reason: str | None, now: datetime
) -> None:
    await store.run(remediations.set_paused, paused, reason=reason, actor=actor, now=now)


# Which account a resource belongs to ------------------------------------------------------


async def account_for(
    store: Store,
    accounts: Collection[str],
    resource_type: str,
    resource_id: str,
    *,
    project_id: str | None = None,
) -> str:
    """The account to record for a resource the planner did not place (a person's own).

    The one answer for a person's decision: the account whose sweep read the resource, as
    the store recorded it (the resource, else its project); for one read before that was
    kept, the project's latest remediation's account. With several ``accounts`` and none
    known (or one no longer configured) this raises RemediationError: the first account's
    key would be the wrong one, and the failure silent.
    """
    if len(accounts) <= 1:
        return next(iter(accounts), "default")
    known = await store.run(
        resource_rows.account_of, resource_type, resource_id, project_id=project_id
    )
    if known is None and project_id is not None:
        known = await store.run(remediations.account_of_project, project_id)
    if known is not None and known in accounts:
        return known
    what = f"{resource_type} {resource_id}"
    if known is not None:
        raise RemediationError(
            f"{what} was read by account {known!r}, which the config no longer has"
        )
    raise RemediationError(
        f"cannot tell which account ({', '.join(sorted(accounts))}) reads {what}: "
        "no sweep has recorded it yet; run an audit, then try again"
    )


# Keep: a person says "leave this resource as it is for a while" ---------------------------


@dataclass(frozen=True)
class Kept:
    """What a keep did, for the channel (or the CLI) to say in its own words."""

    resource_type: str
    resource_id: str
    name: str
    until: datetime
    text: str  # one sentence for people: what changed, or why nothing did
    ended: RemediationRecord | None = None  # the pending request the keep turned down
    moved: RemediationRecord | None = None  # the remediation that moved Neon's own expiry


async def keep(
    store: Store,
    resource_type: str,
    resource_id: str,
    *,
    until: datetime,
    actor: str,
    now: datetime,
    reason: str | None = None,
    executor: Executor | None = None,
) -> Kept:
    """Keep a resource as it is until ``until``.

    Turns down its pending request (if any); a branch with its own ``expires_at`` gets
    Neon's expiry moved later (Neon's own snooze, a tracked remediation sent under the
    account that read the branch) when an ``executor`` is given; anything else becomes an
    exemption the planner honours until ``until``. The same for the CLI and every channel.
    """
    if until <= now:
        raise RemediationError(
            f"keep until {until.isoformat(timespec='minutes')} is not in the future "
            f"(now {now.isoformat(timespec='minutes')})"
        )
    kinds = get_args(StoredResourceType)
    if resource_type not in kinds:
        raise RemediationError(
            f"cannot keep a {resource_type!r}: the resource types are {', '.join(kinds)}"
        )
    stored = next(
        (
            r
            for r in await store.run(resource_rows.listed, cast(StoredResourceType, resource_type))
            if r.resource_id == resource_id
        ),
        None,
    )
    active = await store.run(remediations.active_for, resource_type, resource_id)
    name = (stored.name if stored else None) or (active.resource_name if active else resource_id)
    if stored is None and active is None:
        raise RemediationError(
            f"no {resource_type} {resource_id} in the store: run an audit first, or check the id"
        )
    why = f"kept by {actor}" + (f": {reason}" if reason else "")
    ended = None
    if active is not None and active.state in ("awaiting_approval", "approved"):
        ended = await reject(store, active.id, actor=actor, reason=why, now=now)
    kept = Kept(resource_type, resource_id, name, until, "", ended)
    if resource_type == "branch" and stored is not None and executor is not None:
        moved = await _move_expiry(store, executor, stored, until, actor=actor, now=now)
        if moved is not None:
            return replace(kept, text=moved[0], moved=moved[1])
    await store.run(
        exemptions.add,
        resource_type=resource_type,
        resource_id=resource_id,
        until=until,
        reason=reason or f"kept until {until.date().isoformat()}",
        actor=actor,
        now=now,
    )
    text = f"Kept {resource_type} {name} until {until.date().isoformat()}."
    return Kept(resource_type, resource_id, name, until, text, ended)


async def _move_expiry(
    store: Store,
    executor: Executor,
    branch: StoredResource,
    until: datetime,
    *,
    actor: str,
    now: datetime,
) -> tuple[str, RemediationRecord | None] | None:
    """A branch with its own ``expires_at``: move Neon's expiry later (None: it has none)."""
    expires = parse_timestamp(branch.raw.get("expires_at"))
    if expires is None:
        return None
    later = min(max(expires, now) + (until - now), now + MAX_EXPIRY - timedelta(minutes=5))
    if later <= expires:
        return (
            f"It already expires at {expires.isoformat(timespec='minutes')}; nothing changed.",
            None,
        )
    text = expiry_at(later)
    try:  # the key of the account whose sweep read the branch, never a guess
        account = await account_for(
            store, executor.clients, "branch", branch.resource_id, project_id=branch.project_id
        )
    except RemediationError as error:
        logger.warning("keep by %s: branch %s not changed: %s", actor, branch.resource_id, error)
        return f"Nothing changed in Neon: {error}.", None
    record, created = await store.run(
        remediations.add,
        NewRemediation(
            account=account,
            policy=f"kept by {actor}",
            mode="manual",
            findings=[],
            resource_type="branch",
            resource_id=branch.resource_id,
            org_id=branch.org_id,
            project_id=branch.project_id,
            resource_name=branch.name or branch.resource_id,
            change=Change("update_branch", {"expires_at": text}),
            before={"expires_at": branch.raw.get("expires_at")},
            after={"expires_at": text},
            disruptive=False,
            irreversible=False,
            why=f"{actor} kept it: Neon's own expiry moved later",
            estimate_usd=None,
            state="planned",
        ),
        now=now,
        actor=actor,
    )
    if not created:
        return f"Another remediation of this branch is under way (#{record.id}); try later.", None
    [outcome] = await executor.run([record])
    record = await store.run(remediations.get, record.id)  # as it ended
    if outcome.state != "succeeded":
        logger.warning(
            "keep by %s: Neon's expiry of branch %s not moved (#%d %s): %s",
            actor, branch.resource_id, record.id, outcome.state, outcome.reason,
        )  # fmt: skip
        return f"Could not move the expiry: {outcome.reason}", record
    return f"Moved the branch's expiry in Neon to {text}.", record
