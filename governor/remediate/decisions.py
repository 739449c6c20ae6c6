"""People's decisions: approve, reject, revert, pause and resume.

Why here and not in the commands: Slack's buttons and slash command make the same
decisions, and each must be atomic (the first decision wins; a second one changes
nothing and says who decided) and on the audit log with who, when and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from governor.durations import parse_duration
from governor.remediate.changes import Change
from governor.remediate.errors import RemediationError
from governor.store import exemptions, remediations
from governor.store.async_store import AsyncStore
from governor.store.encoding import encode_time
from governor.store.remediations import NewRemediation, RemediationRecord, RemediationState

REVERTIBLE = frozenset({"update_endpoint", "update_branch"})


async def approve(
    store: AsyncStore, remediation_id: int, *, actor: str, now: datetime
) -> RemediationRecord:
    record = await store.run(remediations.get, remediation_id)
    if record.state != "awaiting_approval":
        raise RemediationError(_already(record))
    if record.approval_expires_at is not None and record.approval_expires_at <= encode_time(now):
        await store.run(
            remediations.move,
            record.id,
            expected=["awaiting_approval"],
            to="expired",
            now=now,
            actor=actor,
            reason=f"not decided before {record.approval_expires_at}",
        )
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


# What a "no" does from each state: a pending request is rejected; an approval not yet
# acted on is withdrawn (skipped: the request was granted, then taken back).
_REJECTED_TO: dict[str, RemediationState] = {
    "awaiting_approval": "rejected",
    "approved": "skipped",
}


async def reject(
    store: AsyncStore,
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


def parse_until(text: str, *, now: datetime) -> datetime:
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
                f"--until {text!r} is neither a duration (30d, 12h, 2w) nor a date "
                "(2026-12-31, or 2026-12-31T18:00Z)"
            ) from None
        if end.tzinfo is None or end.utcoffset() is None:
            end = end.replace(tzinfo=UTC)
    if end <= now:
        raise RemediationError(
            f"--until {text!r} ({end.isoformat(timespec='minutes')}) is not in the future"
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
    change = Change.from_json(original.change)
    succeeded = [r for r in reverts if r.state == "succeeded" and r.reverts_id is not None]
    undone = {r.reverts_id for r in succeeded}  # a revert reverted in turn no longer counts
    done = [r for r in succeeded if r.reverts_id == original.id and r.id not in undone]
    if done:
        return f"remediation {original.id} was already reverted by #{done[-1].id}"
    if original.state != "succeeded":
        return f"remediation {original.id} is {original.state}: only a succeeded one is reverted"
    if change.kind not in REVERTIBLE:
        return f"remediation {original.id} ({change.kind}) cannot be reverted by the governor: " + (
            "a deleted branch can be recovered for 7 days in the Neon console"
            if change.kind == "delete_branch"
            else "a revoked key is gone; create a new one"
            if change.kind.startswith("revoke")
            else "a suspended compute starts again on its next connection"
        )
    return None


async def plan_revert(
    store: AsyncStore, remediation_id: int, *, actor: str, now: datetime
) -> RemediationRecord:
    """A new remediation restoring what ``remediation_id`` changed, ready to execute."""
    original = await store.run(remediations.get, remediation_id)
    change = Change.from_json(original.change)
    refused = revert_refusal(original, await store.run(remediations.listed))
    if refused is not None:
        raise RemediationError(refused)
    restored = {name: original.before.get(name) for name in change.fields}
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
            change=Change(change.kind, restored).as_json(),
            before={name: original.after.get(name) for name in change.fields},
            after=restored,
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
    store: AsyncStore, paused: bool, *, actor: str, reason: str | None, now: datetime
) -> None:
    await store.run(remediations.set_paused, paused, reason=reason, actor=actor, now=now)
