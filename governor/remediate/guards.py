"""What the governor never touches, whatever a policy says: one function, plan and act alike.

Why one function: tools we measure ourselves against honoured exclusions in dry runs and
ignored them in real runs. ``refusal`` is called by the planner on the sweep's view and by
the executor on the fresh re-read, so both answer the same question the same way. It
fails closed: an exclusion on a field the resource lacks counts as excluded, and a part of
the account the sweep could not read refuses every change there.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from governor.model.changes import Change
from governor.model.snapshot import Snapshot
from governor.policy.model import Exclude
from governor.policy.operators import parse_timestamp
from governor.policy.resources import ResourceView

RECENT_USE = timedelta(minutes=15)  # a key used this recently may be the governor's own


@dataclass(frozen=True)
class GuardContext:
    """What the guards know besides the resource: the sweep, the clock, the settings."""

    snapshot: Snapshot
    now: datetime
    max_clock_skew: timedelta
    self_key_id: int | None = None
    # The Neon user the governor runs as (``GET /auth``'s ``account_id`` on a personal key);
    # None: not asked (the plan), and the re-read before a revoke always asks.
    user_id: str | None = None


def refusal(
    change: Change,
    view: ResourceView,
    excludes: list[Exclude],
    context: GuardContext,
) -> str | None:
    """Why ``change`` must not be made to ``view``'s resource; None when it may."""
    values = view.values
    for exclude in excludes:
        why = excluded(exclude, view)
        if why is not None:
            return why
    if not context.snapshot.covers(view.resource_type, view.org_id, view.project_id):
        where = f"project {view.project_id}" if view.project_id else f"organization {view.org_id}"
        return f"the sweep could not read all of {where}; nothing there is changed"
    clocks = clock_refusal(change, context.snapshot.clock_skew_seconds, context.max_clock_skew)
    if clocks is not None:
        return clocks
    if view.resource_type == "branch" and not change.on_branch_settings:
        return _branch_refusal(values)
    if view.resource_type == "branch" and values.get("protected") is not False:
        return "a protected branch (or not known not to be) is never changed"
    if view.resource_type == "api_key":
        return _key_refusal(change, view, context)
    return None


def clock_refusal(
    change: Change,
    skew_seconds: float | None,
    max_clock_skew: timedelta,
    *,
    acting: bool = False,
) -> str | None:
    """Why a change resting on ages or dates must wait: Neon's clock and ours disagree.

    Called with the skew of the sweep when planning and, ``acting``, with the skew the
    re-read just measured before each send, so a skew that appears after the plan still
    stops it. Acting, a skew that cannot be measured (no ``Date`` header) refuses too.
    """
    if not change.time_based:
        return None
    if skew_seconds is None:
        if not acting:
            return None
        return "Neon's answers carry no readable Date header: its clock cannot be checked"
    limit = max_clock_skew.total_seconds()
    if abs(skew_seconds) <= limit:
        return None
    return (
        f"Neon's clock and ours differ by {abs(skew_seconds):.0f} s (more than {limit:.0f} s): "
        "ages are not trustworthy"
    )


def excluded(exclude: Exclude, view: ResourceView) -> str | None:
    """The exclusion that covers ``view``, failing closed on fields the resource lacks."""
    if view.resource_id in exclude.ids:
        return f"excluded by id {view.resource_id}"
    if exclude.projects:
        if view.project_id is None and view.resource_type != "api_key":
            return "excluded: the policy excludes projects and this resource's is unknown"
        if view.project_id in exclude.projects:
            return f"excluded by project {view.project_id}"
    if exclude.organizations:
        if view.org_id is None:
            return "excluded: the policy excludes organizations and this resource's is unknown"
        if view.org_id in exclude.organizations:
            return f"excluded by organization {view.org_id}"
    for pattern in exclude.names:
        if not view.name:
            return "excluded: the policy excludes names and this resource has none"
        if fnmatch.fnmatchcase(view.name, pattern):
            return f"excluded by name pattern {pattern!r}"
    return None


def _branch_refusal(values: Mapping[str, Any]) -> str | None:
    if values.get("default") is not False:
        return "the default branch (or not known not to be) is never changed"
    if values.get("protected") is not False:
        return "a protected branch (or not known not to be) is never changed"
    if not values.get("parent_id"):
        return "the root branch is never changed"
    if values.get("has_children") is not False:
        return "a branch with child branches is never changed"
    return None


def _key_refusal(change: Change, view: ResourceView, context: GuardContext) -> str | None:
    values = view.values
    key_id = values.get("id")
    if context.self_key_id is not None and key_id == context.self_key_id:
        return "the governor's own key (remediation.self_key_id) is never revoked"
    last_used = parse_timestamp(values.get("last_used_at"))
    if last_used is not None and last_used >= context.snapshot.taken_at - RECENT_USE:
        return "used within the last 15 minutes: it may be the governor's own key"
    if change.personal_key:
        if values.get("scope") != "personal" or context.snapshot.key_scope != "personal":
            return (
                "a personal key is revoked only by its owner: only when the governor itself "
                "runs on a personal key of the same account"
            )
        return _creator_refusal(values.get("created_by"), context.user_id)
    elif values.get("scope") not in ("organization", "project") or not view.org_id:
        return "an organization or project key needs its organization to be revoked"
    return None


def creator_checked_when_acting(created_by: Any) -> str:
    """What the plan says of a personal-key revoke while it does not know who the governor
    runs as (the sweep does not ask ``GET /auth``): the creator check is still to come."""
    creator = created_by.get("id") if isinstance(created_by, Mapping) else created_by
    name = created_by.get("name") if isinstance(created_by, Mapping) else None
    who = f"{name} ({creator})" if isinstance(name, str) and name else str(creator or "unknown")
    return (
        f"only if its creator, {who}, is the user the governor runs as: checked against "
        "GET /auth just before revoking (someone else's key is skipped then)"
    )


def _creator_refusal(created_by: Any, user_id: str | None) -> str | None:
    """A personal key created by someone else is theirs to revoke, not the governor's.

    ``created_by`` is an object (``ApiKeyCreatorData``) in key lists and a uuid in other
    answers. ``user_id`` None: the caller has not asked who the governor is (the plan); the
    re-read before acting always has, and there a key whose creator cannot be read is
    refused (fail closed).
    """
    if user_id is None:
        return None
    creator = created_by.get("id") if isinstance(created_by, Mapping) else created_by
    if not isinstance(creator, str) or not creator:
        return "a personal key whose creator is unknown is never revoked"
    if creator != user_id:
        name = created_by.get("name") if isinstance(created_by, Mapping) else None
        who = f"{name} ({creator})" if isinstance(name, str) and name else creator
        return (
            f"created by {who}, not by the user the governor runs as: "
            "a personal key is revoked only by its own user"
        )
    return None
