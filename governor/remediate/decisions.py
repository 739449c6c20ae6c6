"""People's decisions: approve, reject, revert, pause and resume.

Why here and not in the commands: Slack's buttons and slash command make the same
decisions, and each must be atomic (the first decision wins; a second one changes
nothing and says who decided) and on the audit log with who, when and why.
"""

from __future__ import annotations

from datetime import datetime

from governor.remediate.changes import Change
from governor.remediate.errors import RemediationError
from governor.store.async_store import AsyncStore
from governor.store.encoding import encode_time
from governor.store.remediations import NewRemediation, RemediationRecord

REVERTIBLE = frozenset({"update_endpoint", "update_branch"})


async def approve(
    store: AsyncStore, remediation_id: int, *, actor: str, now: datetime
) -> RemediationRecord:
    record = await store.remediations.get(remediation_id)
    if record.state != "awaiting_approval":
        raise RemediationError(_already(record))
    if record.approval_expires_at is not None and record.approval_expires_at <= encode_time(now):
        await store.remediations.move(
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
    moved = await store.remediations.move(
        record.id,
        expected=["awaiting_approval"],
        to="approved",
        now=now,
        actor=actor,
        reason=f"approved by {actor}",
        changes={"decided_by": actor, "decided_at": encode_time(now)},
    )
    if moved is None:
        raise RemediationError(_already(await store.remediations.get(remediation_id)))
    return moved


async def reject(
    store: AsyncStore, remediation_id: int, *, actor: str, reason: str | None, now: datetime
) -> RemediationRecord:
    record = await store.remediations.get(remediation_id)
    moved = await store.remediations.move(
        record.id,
        expected=["awaiting_approval", "approved"],
        to="rejected" if record.state == "awaiting_approval" else "skipped",
        now=now,
        actor=actor,
        reason=f"rejected by {actor}" + (f": {reason}" if reason else ""),
        changes={"decided_by": actor, "decided_at": encode_time(now)},
    )
    if moved is None:
        raise RemediationError(_already(record))
    return moved


def _already(record: RemediationRecord) -> str:
    who = f" by {record.decided_by}" if record.decided_by else ""
    return (
        f"remediation {record.id} is {record.state}{who}"
        + (f" ({record.reason})" if record.reason else "")
        + "; nothing was changed"
    )


async def plan_revert(
    store: AsyncStore, remediation_id: int, *, actor: str, now: datetime
) -> RemediationRecord:
    """A new remediation restoring what ``remediation_id`` changed, ready to execute."""
    original = await store.remediations.get(remediation_id)
    change = Change.from_json(original.change)
    if original.state != "succeeded":
        raise RemediationError(
            f"remediation {original.id} is {original.state}: only a succeeded one is reverted"
        )
    if change.kind not in REVERTIBLE:
        raise RemediationError(
            f"remediation {original.id} ({change.kind}) cannot be reverted by the governor: "
            + (
                "a deleted branch can be recovered for 7 days in the Neon console"
                if change.kind == "delete_branch"
                else "a revoked key is gone; create a new one"
                if change.kind.startswith("revoke")
                else "a suspended compute starts again on its next connection"
            )
        )
    restored = {name: original.before.get(name) for name in change.fields}
    record, created = await store.remediations.add(
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
    await store.remediations.set_paused(paused, reason=reason, actor=actor, now=now)
