"""Just before acting: read the resource again and ask every question the plan asked.

Why all of them again: between plan and act, an owner may have used the branch, moved
its expiry, protected it or branched from it, and a saved plan may be a day old. The
policy is evaluated on the fresh read, its fingerprint compared, the planned ``before``
compared, and the same guard as the plan's (``guards.refusal``) asked again. Any
difference skips the remediation with the reason; nothing is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from governor.config.remediation import RemediationSettings
from governor.model.actions import MAX_EXPIRY
from governor.model.changes import (
    Change,
    DeleteSnapshot,
    RecoverProject,
    UpdateBackupSchedule,
    neon_refuses,
    propose,
)
from governor.model.snapshot import KeyScope, ResourceType, Snapshot
from governor.neon.client import NeonClient
from governor.neon.errors import NeonApiError
from governor.policy import Policy, evaluate
from governor.policy.operators import parse_timestamp
from governor.policy.resources import ResourceView, SnapshotIndex
from governor.remediate.guards import GuardContext, clock_refusal, refusal
from governor.remediate.plan import (
    billing_plan_of,
    parse_sources,
    proposal_values,
    source_actions,
)
from governor.store.remediations import RemediationRecord
from governor.sweep.reread import reread


@dataclass(frozen=True)
class Verdict:
    """``skip`` is why not to act (None: go ahead); ``view`` the resource as just read."""

    skip: str | None
    view: ResourceView | None


async def read_view(
    client: NeonClient, record: RemediationRecord, *, now: datetime
) -> tuple[Snapshot, ResourceView | None]:
    """The resource's part of the account as it is now, and the resource in it (None: gone)."""
    scope = _scope_of(record)
    snapshot = await reread(
        client,
        resource_type=_resource_type(record.resource_type),
        org_id=record.org_id,
        project_id=record.project_id,
        key_scope=scope,
        now=now,
    )
    # The re-read's own answers just set the client's skew (their Date headers): the
    # clock-skew guard judges the clocks as they are now, not as they were at the sweep.
    if isinstance(record.change, DeleteSnapshot) and record.project_id is not None:
        snapshot.snapshots = await client.list_project_snapshots(record.project_id)
    if isinstance(record.change, UpdateBackupSchedule) and record.project_id is not None:
        snapshot.backup_schedules[record.resource_id] = await client.get_backup_schedule(
            record.project_id, record.resource_id
        )
    snapshot.clock_skew_seconds = client.clock_skew_seconds
    if scope == "personal":
        # GET /api_keys answered: only a personal key may list (and revoke) personal keys
        snapshot.key_scope = "personal"
    index = SnapshotIndex(snapshot)
    view = index.view(_resource_type(record.resource_type), record.resource_id)
    return snapshot, view


async def recheck(
    client: NeonClient,
    record: RemediationRecord,
    *,
    policies: Mapping[str, Policy],
    settings: RemediationSettings,
    now: datetime,
) -> Verdict:
    if isinstance(record.change, RecoverProject):
        # a revert of a project delete: the project is gone, as it should be; Neon
        # answers whether it can still be recovered (7 days)
        return Verdict(None, None)
    snapshot, view = await read_view(client, record, now=now)
    if view is None:
        return Verdict(f"the {record.resource_type} no longer exists", None)
    change = record.change
    # Every path, a person's own change and a revert included: a delete or a revoke is
    # never sent while Neon's clock and ours disagree.
    clocks = clock_refusal(
        change, snapshot.clock_skew_seconds, settings.max_clock_skew, acting=True
    )
    if clocks is not None:
        return Verdict(clocks, view)
    # Neon's compute rules on the change merged over the resource as just read: a request
    # Neon would refuse is never sent (a revert to a range Neon no longer accepts included).
    refused_by_rules = neon_refuses(
        change, view.values, billing_plan_of(SnapshotIndex(snapshot), view)
    )
    if refused_by_rules is not None:
        return Verdict(f"Neon would refuse it: {refused_by_rules}", view)
    values = proposal_values(snapshot, view)
    if record.reverts_id is not None or not record.findings:
        # a revert, or a person's own change (a snooze): no policy to ask again, but the
        # resource must still be as it was when the change was decided
        skip = _revert_skip(record, values) or _expiry_skip(change, now)
        return Verdict(skip, view)
    sources = parse_sources(record)
    chosen = []
    for source in sources:
        policy = policies.get(source.policy)
        if policy is None:
            return Verdict(f"policy {source.policy} is no longer loaded", view)
        chosen.append(policy)
    user_id = None
    if change.personal_key:
        user_id, unknown = await governor_user(client)
        if user_id is None:
            return Verdict(unknown, view)
    guard = GuardContext(
        snapshot=snapshot,
        now=now,
        max_clock_skew=settings.max_clock_skew,
        self_key_id=settings.self_key_id,
        user_id=user_id,
    )
    # The plan's own guard first: an exclusion or a protected branch says so by name.
    refused = refusal(change, view, [policy.exclude for policy in chosen], guard)
    if refused is not None:
        return Verdict(refused, view)
    index = SnapshotIndex(snapshot)
    for source, policy in zip(sources, chosen, strict=True):
        found = next(
            (
                finding
                for finding in evaluate([policy], index, now=now)
                if finding.resource_id == record.resource_id
            ),
            None,
        )
        if found is None:
            return Verdict(f"{source.policy} no longer selects it (re-read just now)", view)
        if found.fingerprint != source.fingerprint:
            return Verdict(
                f"its evidence for {source.policy} changed since it was planned "
                f"({_changed(source.fingerprint, found.fingerprint)})",
                view,
            )
    proposal = propose(
        source_actions(sources),
        values,
        now=now,
        scope=_scope_of(record),
        plan=billing_plan_of(index, view),
    )
    if proposal.change is None:
        return Verdict(f"nothing left to do: {proposal.reason}", view)
    if proposal.before != record.before:
        return Verdict(
            f"changed since it was planned: was {record.before}, now {proposal.before}", view
        )
    return Verdict(_window_skip(change, chosen, now) or _expiry_skip(change, now), view)


def clock_skip(client: NeonClient, change: Change, settings: RemediationSettings) -> str | None:
    """Why not to send ``change`` again now: the skew of the client's latest answers.

    For a re-send within one execution (after a 5xx or a wait for a lock), where the
    answers just read (operations, the resource) measured the skew afresh.
    """
    return clock_refusal(change, client.clock_skew_seconds, settings.max_clock_skew, acting=True)


async def governor_user(client: NeonClient) -> tuple[str | None, str]:
    """The Neon user the governor's personal key belongs to (``GET /auth``), or why unknown.

    Why ask before each personal-key revoke: a personal key is its own user's; one created
    by someone else (its ``created_by``) is never the governor's to revoke.
    """
    try:
        details = (await client.request("GET", "/auth")).object()
    except NeonApiError as error:
        return None, (
            f"cannot tell which Neon user the governor runs as (GET /auth: {error.message}); "
            "a personal key is revoked only by its own user"
        )
    account_id = details.get("account_id")
    if details.get("auth_method") != "api_key_user" or not isinstance(account_id, str):
        return None, "the governor does not run on a personal key: it revokes no personal key"
    if not account_id:
        return None, "GET /auth names no user: a personal key is revoked only by its own user"
    return account_id, ""


def _window_skip(change: Change, policies: list[Policy], now: datetime) -> str | None:
    """A saved plan applied later must still respect the policies' maintenance windows."""
    if not change.disruptive:
        return None
    for policy in policies:
        window = policy.maintenance_window
        if window is not None and not window.contains(now):
            return f"outside the window {window.text!r} of {policy.name}; planned again later"
    return None


def _revert_skip(record: RemediationRecord, values: Mapping[str, Any]) -> str | None:
    """A revert goes ahead only while the resource still shows what the remediation set."""
    for name, value in record.before.items():
        current = values.get(name)
        if name == "expires_at":
            if parse_timestamp(current) != parse_timestamp(value):
                return f"{name} changed since the remediation (now {current}): revert by hand"
        elif current != value and not _same_number(current, value):
            return f"{name} changed since the remediation (now {current}): revert by hand"
    return None


def _expiry_skip(change: Change, now: datetime) -> str | None:
    wanted = parse_timestamp(change.fields.get("expires_at"))
    if wanted is None:
        return None
    if wanted <= now + timedelta(minutes=1):
        return f"the planned expiry {change.fields['expires_at']} is no longer in the future"
    if wanted > now + MAX_EXPIRY:
        return f"the planned expiry {change.fields['expires_at']} is more than 30 days ahead"
    return None


def _same_number(a: object, b: object) -> bool:
    return (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
        and float(a) == float(b)
    )


def _changed(before: str, after: str) -> str:
    return f"fingerprint {before[:12]} -> {after[:12]}"


def _scope_of(record: RemediationRecord) -> KeyScope | None:
    if record.resource_type != "api_key":
        return None
    if record.change.personal_key:
        return "personal"
    return "project" if record.project_id else "organization"


def _resource_type(text: str) -> ResourceType:
    if text not in ("organization", "project", "branch", "endpoint", "api_key", "snapshot"):
        raise ValueError(f"remediation of an unknown resource type {text!r}")
    return text  # type: ignore[return-value]
