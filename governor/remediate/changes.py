"""From a finding's action and the resource as it is, to the one request that changes it.

Pure. A ``Change`` is what the executor sends, exactly: the plan prints it, the store
journals it, a saved plan carries it, and ``revert`` builds one from what was before.
``before``/``after`` are the settings the change moves between, read from the resource
(the executor re-reads and compares them just before acting).

Neon's limits are applied here, so a plan never holds a request Neon would refuse:
autoscaling ranges above 16 CU need a person, ``expires_at`` is at most 30 days ahead at
second precision, and an expiry an owner set is never shortened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from governor.actions import (
    MAX_EXPIRY,
    Action,
    DeleteAction,
    ResizeAction,
    RevokeAction,
    SetAutosuspendAction,
    SetExpiryAction,
    SuspendAction,
)
from governor.policy.operators import parse_timestamp

AUTOSCALING_MAX_CU = 16.0  # Neon's autoscaling cap; fixed sizes go higher
ChangeKind = Literal[
    "update_endpoint",
    "suspend_endpoint",
    "update_branch",
    "delete_branch",
    "revoke_org_key",
    "revoke_personal_key",
]
ENDPOINT_FIELDS = (
    "autoscaling_limit_min_cu",
    "autoscaling_limit_max_cu",
    "suspend_timeout_seconds",
)


@dataclass(frozen=True)
class Change:
    """One request: ``fields`` is the PATCH body's inner object (empty for the others)."""

    kind: ChangeKind
    fields: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "fields": dict(self.fields)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        kind = data.get("kind")
        fields = data.get("fields", {})
        if kind not in _REQUESTS or not isinstance(fields, dict):
            raise ValueError(f"not a planned change: {dict(data)!r}")
        return cls(kind, dict(fields))

    def request(self, *, project_id: str | None, resource_id: str, org_id: str | None) -> str:
        """``METHOD /path {body}`` as the executor will send it, for people."""
        method, template = _REQUESTS[self.kind]
        path = template.format(project=project_id, id=resource_id, org=org_id)
        if not self.fields:
            return f"{method} {path}"
        body = ", ".join(f'"{key}": {_json(value)}' for key, value in self.fields.items())
        envelope = "endpoint" if self.kind == "update_endpoint" else "branch"
        return f'{method} {path} {{"{envelope}": {{{body}}}}}'


_REQUESTS: dict[str, tuple[str, str]] = {
    "update_endpoint": ("PATCH", "/projects/{project}/endpoints/{id}"),
    "suspend_endpoint": ("POST", "/projects/{project}/endpoints/{id}/suspend"),
    "update_branch": ("PATCH", "/projects/{project}/branches/{id}"),
    "delete_branch": ("DELETE", "/projects/{project}/branches/{id}"),
    "revoke_org_key": ("DELETE", "/organizations/{org}/api_keys/{id}"),
    "revoke_personal_key": ("DELETE", "/api_keys/{id}"),
}


def _json(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"'
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Proposal:
    """What one or more actions on one resource come to: a change, or why there is none."""

    change: Change | None
    before: dict[str, Any]
    after: dict[str, Any]
    # Without a change: "done_already" (nothing left to do) or "needs_person".
    outcome: Literal["change", "done_already", "needs_person"]
    reason: str = ""
    notes: tuple[str, ...] = ()


def propose(
    actions: Sequence[Action], values: Mapping[str, Any], *, now: datetime, scope: str | None
) -> Proposal:
    """The change for ``actions`` (all on one resource) given its current ``values``.

    Several endpoint settings merge into one PATCH: every PATCH wakes an idle compute.
    """
    kinds = {action.type for action in actions}
    if kinds <= {"resize", "set_autosuspend"}:
        return _update_endpoint(actions, values)
    if len(actions) != 1:
        raise ValueError(f"these actions cannot share one resource: {sorted(kinds)}")
    action = actions[0]
    if isinstance(action, SuspendAction):
        return _suspend(values)
    if isinstance(action, SetExpiryAction):
        return _set_expiry(action, values, now)
    if isinstance(action, DeleteAction):
        return _delete(values, now)
    if isinstance(action, RevokeAction):
        return _revoke(values, scope)
    raise ValueError(f"no change for action {action.type!r}")


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _update_endpoint(actions: Sequence[Action], values: Mapping[str, Any]) -> Proposal:
    before = {name: values.get(name) for name in ENDPOINT_FIELDS if name in values}
    fields: dict[str, Any] = {}
    notes: list[str] = []
    for action in actions:
        if isinstance(action, SetAutosuspendAction):
            if values.get("suspend_timeout_seconds") != action.seconds:
                fields["suspend_timeout_seconds"] = action.seconds
        elif isinstance(action, ResizeAction):
            current_min = _number(values.get("autoscaling_limit_min_cu"))
            current_max = _number(values.get("autoscaling_limit_max_cu"))
            new_max = action.max_cu if action.max_cu is not None else current_max
            if new_max is None or current_min is None:
                return Proposal(
                    None, before, before, "needs_person", "the compute's size is not known"
                )
            new_max = max(new_max, action.min_cu)
            if action.min_cu != new_max and new_max > AUTOSCALING_MAX_CU:
                return Proposal(
                    None,
                    before,
                    before,
                    "needs_person",
                    f"a range {action.min_cu:g}-{new_max:g} CU is above Neon's "
                    f"{AUTOSCALING_MAX_CU:g} CU autoscaling cap; choose a fixed size or a "
                    f"maximum of at most {AUTOSCALING_MAX_CU:g} CU by hand",
                )
            if current_min != action.min_cu:
                fields["autoscaling_limit_min_cu"] = action.min_cu
            if current_max != new_max:
                fields["autoscaling_limit_max_cu"] = new_max
            if fields.keys() & {"autoscaling_limit_min_cu", "autoscaling_limit_max_cu"}:
                notes.append("restarts the compute; connections drop")
    after = {**before, **fields}
    if not fields:
        return Proposal(None, before, after, "done_already", "already set as proposed")
    state = values.get("current_state")
    if state is not None and state != "active":
        notes.append("wakes the idle compute briefly (Neon applies the change, then suspends)")
    return Proposal(Change("update_endpoint", fields), before, after, "change", notes=tuple(notes))


def _suspend(values: Mapping[str, Any]) -> Proposal:
    state = values.get("current_state")
    before = {"current_state": state}
    if state == "idle":
        return Proposal(None, before, before, "done_already", "already suspended")
    return Proposal(
        Change("suspend_endpoint"),
        before,
        {"current_state": "idle"},
        "change",
        notes=("open connections drop; the next connection starts it again",),
    )


def expiry_at(moment: datetime) -> str:
    """``expires_at`` as Neon wants it: UTC, second precision."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _set_expiry(action: SetExpiryAction, values: Mapping[str, Any], now: datetime) -> Proposal:
    current = parse_timestamp(values.get("expires_at"))
    before = {"expires_at": values.get("expires_at")}
    proposed = now + min(action.after, MAX_EXPIRY - timedelta(minutes=5))
    if current is not None:
        if current <= proposed:
            return Proposal(
                None, before, before, "done_already", f"already expires at {before['expires_at']}"
            )
        return Proposal(
            None,
            before,
            before,
            "done_already",
            f"its owner set it to expire at {before['expires_at']}: snoozed, never shortened",
        )
    text = expiry_at(proposed)
    return Proposal(
        Change("update_branch", {"expires_at": text}),
        before,
        {"expires_at": text},
        "change",
        notes=("Neon deletes the branch at that time (recoverable for 7 days)",),
    )


def _delete(values: Mapping[str, Any], now: datetime) -> Proposal:
    before = {
        name: values.get(name)
        for name in ("name", "parent_id", "logical_size", "expires_at")
        if values.get(name) is not None
    }
    expires = parse_timestamp(values.get("expires_at"))
    if expires is not None and expires > now:
        return Proposal(
            None,
            before,
            before,
            "done_already",
            f"it expires on its own at {values.get('expires_at')} (an owner's choice)",
        )
    return Proposal(
        Change("delete_branch"),
        before,
        {"deleted": True},
        "change",
        notes=("Neon keeps it recoverable for 7 days; its computes disconnect",),
    )


def _revoke(values: Mapping[str, Any], scope: str | None) -> Proposal:
    before = {
        name: values.get(name)
        for name in ("name", "scope", "project_id", "last_used_at", "created_at")
        if values.get(name) is not None
    }
    kind: ChangeKind = "revoke_personal_key" if scope == "personal" else "revoke_org_key"
    return Proposal(
        Change(kind),
        before,
        {"revoked": True},
        "change",
        notes=("synchronous and cannot be undone: the key stops working at once",),
    )


def applied(change: Change, values: Mapping[str, Any] | None) -> bool:
    """Whether the resource (None: gone) shows ``change`` in effect: the outcome test."""
    if change.kind in ("delete_branch", "revoke_org_key", "revoke_personal_key"):
        return values is None
    if values is None:
        return False
    if change.kind == "suspend_endpoint":
        return values.get("current_state") == "idle"
    for name, wanted in change.fields.items():
        current = values.get(name)
        if name == "expires_at":
            if parse_timestamp(current) != parse_timestamp(wanted):
                return False
        elif _number(current) is not None and _number(wanted) is not None:
            if _number(current) != _number(wanted):
                return False
        elif current != wanted:
            return False
    return True
