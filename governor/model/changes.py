"""One class per change kind: everything the governor knows about one kind of request.

Why one place: a change kind used to be a string tested in a dozen modules (the request,
how to send it, how to read the resource back, whether it is in effect, what a revert
restores, whether it is disruptive or irreversible, its title). Each class below owns all
of that, and ``propose`` (below) turns a finding's actions into one change, so a new kind is
one class and its proposal here, its ``Action`` in ``actions.py`` and its call in
``neon/mutations.py``. Disruption and irreversibility come from the ``Action`` flags.

The stored form stays ``{"kind": ..., "fields": {...}}`` (``as_json``/``parse_change``), so
rows and saved plans written before these classes still read. ``Change(kind, fields)``
builds the class for ``kind``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol

from governor.model.actions import (
    MAX_EXPIRY,
    Action,
    DeleteAction,
    DeleteEndpointAction,
    DeleteProjectAction,
    DeleteSnapshotAction,
    DisableComputeAction,
    ResizeAction,
    RevokeAction,
    SetAutosuspendAction,
    SetBackupRetentionAction,
    SetExpiryAction,
    SetProjectDefaultsAction,
    SetRetentionAction,
    SuspendAction,
)
from governor.model.timestamps import parse_timestamp
from governor.neon.client import NeonClient
from governor.neon.errors import NeonNotFound
from governor.neon.responses import Mutation
from governor.rules.compute import (
    MIN_CU,
    NeedsPerson,
    cheapest_target,
    size_problems,
    suspend_problems,
)
from governor.rules.retention import retention_problems

ChangeKind = Literal[
    "update_endpoint",
    "suspend_endpoint",
    "update_branch",
    "delete_branch",
    "revoke_org_key",
    "revoke_personal_key",
    "update_project",
    "delete_project",
    "recover_project",
    "delete_snapshot",
    "update_backup_schedule",
    "delete_endpoint",
]


class Target(Protocol):
    """Where a change goes: a remediation row or a plan item."""

    @property
    def project_id(self) -> str | None: ...
    @property
    def resource_id(self) -> str: ...
    @property
    def org_id(self) -> str | None: ...


Move = tuple[str | None, Any, Any]  # (field or None for the whole resource, before, after)


def value_text(value: Any) -> str:
    """A setting's value for people (the one formatter the terminal and Slack share)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _json(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict | list):
        return json.dumps(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


class Change:
    """One request the executor sends, exactly: ``fields`` is the PATCH body's inner object."""

    kind: ClassVar[ChangeKind]
    title: ClassVar[str]
    method: ClassVar[str]
    path: ClassVar[str]  # formatted with project, id and org
    envelope: ClassVar[str | None] = None  # the PATCH body's outer key
    irreversible: ClassVar[bool] = False
    # Rests on ages or dates, so a clock skew with Neon stops it.
    time_based: ClassVar[bool] = False
    # Neon answers synchronously: the send's answer is the outcome (the reason recorded).
    synchronous: ClassVar[str | None] = None
    # Succeeded operations prove it (no re-read needed): the reason recorded.
    proven_by_operations: ClassVar[str | None] = None
    removes_branch: ClassVar[bool] = False  # its computes go with it (the planner drops them)
    # Changes a setting the branch has beside it (its backup schedule), not the branch: the
    # default and root branches may have it changed; protected ones still never.
    on_branch_settings: ClassVar[bool] = False
    personal_key: ClassVar[bool] = False  # needs the governor's own user (GET /auth)
    # Why a revert is refused (None: revertible, restoring ``before`` of its fields).
    not_revertible: ClassVar[str | None] = None
    # How long Neon can undo it (recorded as ``recoverable_until`` when Neon says nothing).
    recoverable_for: ClassVar[timedelta | None] = None

    __slots__ = ("_fields",)
    _fields: dict[str, Any]

    def __new__(cls, kind: str | None = None, fields: Mapping[str, Any] | None = None) -> Change:
        _ = fields
        if cls is Change:
            chosen = KINDS.get(str(kind))
            if chosen is None:
                raise ValueError(f"not a change kind: {kind!r}")
            return object.__new__(chosen)
        return object.__new__(cls)

    def __init__(self, kind: str | None = None, fields: Mapping[str, Any] | None = None) -> None:
        if kind is not None and kind != self.kind:
            raise ValueError(f"{type(self).__name__} is {self.kind!r}, not {kind!r}")
        object.__setattr__(self, "_fields", dict(fields or {}))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a change is immutable")

    @property
    def fields(self) -> dict[str, Any]:
        return dict(self._fields)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Change) and type(other) is type(self) and other.fields == self.fields
        )

    def __hash__(self) -> int:
        return hash((self.kind, tuple(sorted(self._fields.items()))))

    def __repr__(self) -> str:
        return f"Change({self.kind!r}, {self._fields!r})"

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "fields": dict(self._fields)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return parse_change(data)

    @property
    def disruptive(self) -> bool:
        """Restarts a compute or drops its connections (from the ``Action`` flags)."""
        return False

    @property
    def data_protection(self) -> bool:
        """Removes data or restore points (from the ``Action`` flags): auto mode waits."""
        return False

    def request(self, *, project_id: str | None, resource_id: str, org_id: str | None) -> str:
        """``METHOD /path {body}`` as the executor will send it, for people."""
        path = self.path.format(project=project_id, id=resource_id, org=org_id)
        if not self._fields:
            return f"{self.method} {path}"
        body = ", ".join(f'"{key}": {_json(value)}' for key, value in self._fields.items())
        return f'{self.method} {path} {{"{self.envelope}": {{{body}}}}}'

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        raise NotImplementedError

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        """The resource as Neon has it now; None when it is gone."""
        raise NotImplementedError

    def applied(self, values: Mapping[str, Any] | None) -> bool:
        """Whether the resource (None: gone) shows this change in effect: the outcome test."""
        if values is None:
            return False
        for name, wanted in self._fields.items():
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

    def restoring(self, before: Mapping[str, Any]) -> Change:
        """The change a revert sends: each of its fields back to ``before``."""
        return type(self)(None, {name: before.get(name) for name in self._fields})

    def moves(self, before: Mapping[str, Any]) -> list[Move]:
        """What it moves, field by field, for people (``name before → after``)."""
        return [(name, before.get(name), value) for name, value in self._fields.items()]


def moves_text(change: Change, before: Mapping[str, Any]) -> str:
    """``name before → after, ...`` for the terminal (the plan, ``remediations show``)."""
    return ", ".join(
        " ".join(([name] if name else []) + [f"{value_text(old)} → {value_text(new)}"])
        for name, old, new in change.moves(before)
    )


class _EndpointChange(Change):
    __slots__ = ()
    envelope = "endpoint"

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        try:
            return (await client.get_endpoint(target.project_id or "", target.resource_id)).raw
        except NeonNotFound:
            return None


class _BranchChange(Change):
    __slots__ = ()
    envelope = "branch"

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        try:
            return (await client.get_branch(target.project_id or "", target.resource_id)).raw
        except NeonNotFound:
            return None


class UpdateEndpoint(_EndpointChange):
    """PATCH a compute's autoscaling limits and/or suspend timeout (one PATCH for all)."""

    __slots__ = ()
    kind = "update_endpoint"
    title = "Change compute settings"
    method, path = "PATCH", "/projects/{project}/endpoints/{id}"
    RESIZE_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"autoscaling_limit_min_cu", "autoscaling_limit_max_cu"}
    )

    @property
    def disruptive(self) -> bool:
        resized = ResizeAction.disruptive and bool(self._fields.keys() & self.RESIZE_FIELDS)
        return resized or (DisableComputeAction.disruptive and self._fields.get("disabled") is True)

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        fields = self._fields
        return await client.update_endpoint(
            target.project_id or "",
            target.resource_id,
            autoscaling_limit_min_cu=fields.get("autoscaling_limit_min_cu"),
            autoscaling_limit_max_cu=fields.get("autoscaling_limit_max_cu"),
            suspend_timeout_seconds=fields.get("suspend_timeout_seconds"),
            disabled=fields.get("disabled"),
        )

    def restoring(self, before: Mapping[str, Any]) -> Change:
        """Each field back to ``before``; a compute that had no ``disabled`` was enabled."""
        fields = {name: before.get(name) for name in self._fields}
        if "disabled" in fields and fields["disabled"] is None:
            fields["disabled"] = False
        return type(self)(None, fields)


class SuspendEndpoint(_EndpointChange):
    """POST suspend: the compute stops now and starts again on its next connection."""

    __slots__ = ()
    kind = "suspend_endpoint"
    title = "Suspend compute"
    method, path = "POST", "/projects/{project}/endpoints/{id}/suspend"
    proven_by_operations = "suspended"
    not_revertible = "a suspended compute starts again on its next connection"

    @property
    def disruptive(self) -> bool:
        return SuspendAction.disruptive

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.suspend_endpoint(target.project_id or "", target.resource_id)

    def applied(self, values: Mapping[str, Any] | None) -> bool:
        return values is not None and values.get("current_state") == "idle"

    def moves(self, before: Mapping[str, Any]) -> list[Move]:
        return [(None, before.get("current_state"), "idle")]


class UpdateBranch(_BranchChange):
    """PATCH a branch's ``expires_at``: Neon deletes it at that time."""

    __slots__ = ()
    kind = "update_branch"
    title = "Set branch expiry"
    method, path = "PATCH", "/projects/{project}/branches/{id}"
    time_based = True

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        expires = self._fields.get("expires_at")
        moment = None if expires is None else datetime.fromisoformat(str(expires))
        return await client.update_branch(
            target.project_id or "", target.resource_id, expires_at=moment
        )


class _Gone(Change):
    """A change whose outcome is the resource's absence."""

    __slots__ = ()
    time_based = True
    gone_text: ClassVar[tuple[str, str]]

    def applied(self, values: Mapping[str, Any] | None) -> bool:
        return values is None

    def moves(self, before: Mapping[str, Any]) -> list[Move]:
        return [(None, *self.gone_text)]


class DeleteBranch(_Gone, _BranchChange):
    """DELETE a branch (Neon keeps it recoverable for 7 days)."""

    __slots__ = ()
    kind = "delete_branch"
    title = "Delete branch"
    method, path = "DELETE", "/projects/{project}/branches/{id}"
    irreversible = DeleteAction.irreversible
    removes_branch = True
    gone_text = ("exists", "deleted")
    not_revertible = "a deleted branch can be recovered for 7 days in the Neon console"

    @property
    def disruptive(self) -> bool:
        return DeleteAction.disruptive

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.delete_branch(target.project_id or "", target.resource_id)


class _Revoke(_Gone):
    __slots__ = ()
    title = "Revoke API key"
    irreversible = RevokeAction.irreversible
    synchronous = "revoked (synchronous)"
    gone_text = ("active", "revoked")
    not_revertible = "a revoked key is gone; create a new one"

    @property
    def disruptive(self) -> bool:
        return RevokeAction.disruptive

    async def _keys(self, client: NeonClient, target: Target) -> list[Any]:
        raise NotImplementedError

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        keys = await self._keys(client, target)
        return next((key.raw for key in keys if str(key.id) == target.resource_id), None)


class RevokeOrgKey(_Revoke):
    """DELETE an organization's API key."""

    __slots__ = ()
    kind = "revoke_org_key"
    method, path = "DELETE", "/organizations/{org}/api_keys/{id}"

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.revoke_org_api_key(target.org_id or "", int(target.resource_id))

    async def _keys(self, client: NeonClient, target: Target) -> list[Any]:
        return list(await client.list_org_api_keys(target.org_id or ""))


class RevokePersonalKey(_Revoke):
    """DELETE a personal API key (only its owner may: the governor's own user)."""

    __slots__ = ()
    kind = "revoke_personal_key"
    method, path = "DELETE", "/api_keys/{id}"
    personal_key = True

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.revoke_personal_api_key(int(target.resource_id))

    async def _keys(self, client: NeonClient, target: Target) -> list[Any]:
        return list(await client.list_personal_api_keys())


# Project, snapshot, backup schedule and compute deletes (issue 18) ------------------------


async def _project_values(client: NeonClient, target: Target) -> dict[str, Any] | None:
    try:
        return (await client.get_project(target.project_id or target.resource_id)).raw
    except NeonNotFound:
        return None


class UpdateProject(Change):
    """PATCH a project's restore window or the defaults its new computes inherit.

    ``default_endpoint_settings`` is sent whole (the settings as they were, with the asked
    ones changed): the outcome compares only the asked settings.
    """

    __slots__ = ()
    kind = "update_project"
    title = "Change project settings"
    method, path = "PATCH", "/projects/{project}"
    envelope = "project"

    @property
    def data_protection(self) -> bool:
        return SetRetentionAction.data_protection and "history_retention_seconds" in self._fields

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.update_project(
            target.project_id or target.resource_id,
            history_retention_seconds=self._fields.get("history_retention_seconds"),
            default_endpoint_settings=self._fields.get("default_endpoint_settings"),
        )

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        return await _project_values(client, target)

    def applied(self, values: Mapping[str, Any] | None) -> bool:
        if values is None:
            return False
        for name, wanted in self._fields.items():
            current = values.get(name)
            if isinstance(wanted, dict):
                settings = current if isinstance(current, dict) else {}
                if any(
                    _number(settings.get(key)) != _number(value) for key, value in wanted.items()
                ):
                    return False
            elif _number(current) != _number(wanted):
                return False
        return True

    def moves(self, before: Mapping[str, Any]) -> list[Move]:
        moved: list[Move] = []
        for name, value in self._fields.items():
            if isinstance(value, dict):
                old = before.get(name)
                old_settings = old if isinstance(old, dict) else {}
                moved += [
                    (f"{name}.{key}", old_settings.get(key), new)
                    for key, new in value.items()
                    if old_settings.get(key) != new
                ]
            else:
                moved.append((name, before.get(name), value))
        return moved


class DeleteProject(_Gone):
    """DELETE a project: Neon keeps it recoverable for 7 days (revert: POST .../recover)."""

    __slots__ = ()
    kind = "delete_project"
    title = "Delete project"
    method, path = "DELETE", "/projects/{project}"
    irreversible = DeleteProjectAction.irreversible
    synchronous = "deleted (synchronous; recoverable for 7 days)"
    gone_text = ("exists", "deleted (recoverable for 7 days)")
    recoverable_for = timedelta(days=7)

    @property
    def disruptive(self) -> bool:
        return DeleteProjectAction.disruptive

    @property
    def data_protection(self) -> bool:
        return DeleteProjectAction.data_protection

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.delete_project(target.project_id or target.resource_id)

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        return await _project_values(client, target)

    def restoring(self, before: Mapping[str, Any]) -> Change:
        """Neon's recovery, within 7 days of the delete."""
        _ = before
        return RecoverProject()


class RecoverProject(Change):
    """POST /projects/{p}/recover: a project deleted less than 7 days ago comes back."""

    __slots__ = ()
    kind = "recover_project"
    title = "Recover deleted project"
    method, path = "POST", "/projects/{project}/recover"
    synchronous = "recovered (synchronous)"
    not_revertible = "delete the project again instead"

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.recover_project(target.project_id or target.resource_id)

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        return await _project_values(client, target)

    def applied(self, values: Mapping[str, Any] | None) -> bool:
        return values is not None

    def moves(self, before: Mapping[str, Any]) -> list[Move]:
        return [(None, "deleted", "exists")]


class DeleteSnapshot(_Gone):
    """DELETE a snapshot: "deleted snapshots cannot be recovered"."""

    __slots__ = ()
    kind = "delete_snapshot"
    title = "Delete snapshot"
    method, path = "DELETE", "/projects/{project}/snapshots/{id}"
    irreversible = DeleteSnapshotAction.irreversible
    gone_text = ("exists", "deleted")
    not_revertible = "Neon cannot recover a deleted snapshot"

    @property
    def data_protection(self) -> bool:
        return DeleteSnapshotAction.data_protection

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.delete_snapshot(target.project_id or "", target.resource_id)

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        try:
            snapshots = await client.list_project_snapshots(target.project_id or "")
        except NeonNotFound:
            return None
        return next((item.raw for item in snapshots if item.id == target.resource_id), None)


class UpdateBackupSchedule(Change):
    """PUT a branch's backup schedule, whole: every item as it was, with a retention.

    ``fields`` is the PUT body (``{"schedule": [...]}``, no envelope): a PUT replaces the
    schedule, so the items' other settings are sent as they were read.
    """

    __slots__ = ()
    kind = "update_backup_schedule"
    title = "Set backup retention"
    on_branch_settings = True
    method, path = "PUT", "/projects/{project}/branches/{id}/backup_schedule"

    @property
    def data_protection(self) -> bool:
        return SetBackupRetentionAction.data_protection

    def request(self, *, project_id: str | None, resource_id: str, org_id: str | None) -> str:
        path = self.path.format(project=project_id, id=resource_id, org=org_id)
        return f"{self.method} {path} {json.dumps(self._fields)}"

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.put_backup_schedule(
            target.project_id or "", target.resource_id, list(self._fields.get("schedule") or [])
        )

    async def current_values(self, client: NeonClient, target: Target) -> dict[str, Any] | None:
        try:
            schedule = await client.get_backup_schedule(target.project_id or "", target.resource_id)
        except NeonNotFound:
            return None
        raw = getattr(schedule, "raw", schedule)
        return dict(raw) if isinstance(raw, Mapping) else None

    def applied(self, values: Mapping[str, Any] | None) -> bool:
        return values is not None and _items(values.get("schedule")) == _items(
            self._fields.get("schedule")
        )

    def restoring(self, before: Mapping[str, Any]) -> Change:
        return type(self)(None, {"schedule": list(before.get("schedule") or [])})

    def moves(self, before: Mapping[str, Any]) -> list[Move]:
        old = _items(before.get("schedule"))
        new = _items(self._fields.get("schedule"))
        return [
            (
                f"schedule[{index}].retention_seconds",
                old[index].get("retention_seconds") if index < len(old) else None,
                item.get("retention_seconds"),
            )
            for index, item in enumerate(new)
            if index >= len(old)
            or old[index].get("retention_seconds") != item.get("retention_seconds")
        ]


def _items(schedule: Any) -> list[dict[str, Any]]:
    return (
        [item for item in schedule if isinstance(item, dict)] if isinstance(schedule, list) else []
    )


class DeleteEndpoint(_Gone, _EndpointChange):
    """DELETE a compute (a read replica holds no data of its own)."""

    __slots__ = ()
    kind = "delete_endpoint"
    title = "Delete compute"
    method, path = "DELETE", "/projects/{project}/endpoints/{id}"
    irreversible = DeleteEndpointAction.irreversible
    gone_text = ("exists", "deleted")
    not_revertible = "a deleted compute is gone; a new one gets a new host name"

    @property
    def disruptive(self) -> bool:
        return DeleteEndpointAction.disruptive

    async def send(self, client: NeonClient, target: Target) -> Mutation[Any]:
        return await client.delete_endpoint(target.project_id or "", target.resource_id)


KINDS: dict[str, type[Change]] = {
    kind.kind: kind
    for kind in (
        UpdateEndpoint,
        SuspendEndpoint,
        UpdateBranch,
        DeleteBranch,
        RevokeOrgKey,
        RevokePersonalKey,
        UpdateProject,
        DeleteProject,
        RecoverProject,
        DeleteSnapshot,
        UpdateBackupSchedule,
        DeleteEndpoint,
    )
}


def parse_change(data: Mapping[str, Any]) -> Change:
    """A change back from its stored form (raises ``ValueError`` when it is not one)."""
    kind = data.get("kind")
    fields = data.get("fields", {})
    if kind not in KINDS or not isinstance(fields, dict):
        raise ValueError(f"not a planned change: {dict(data)!r}")
    return KINDS[str(kind)](None, fields)


# From a finding's actions and the resource as it is, to the one change ------------------
# Neon's limits are applied here, so a plan never holds a request Neon would refuse: the
# compute size and suspend-timeout rules of ``governor.rules.compute`` (the same ones the
# executor's re-check and the simulator use), ``expires_at`` at most 30 days ahead at second
# precision, and an expiry an owner set is never shortened.

ENDPOINT_FIELDS = (
    "autoscaling_limit_min_cu",
    "autoscaling_limit_max_cu",
    "suspend_timeout_seconds",
)


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
    actions: Sequence[Action],
    values: Mapping[str, Any],
    *,
    now: datetime,
    scope: str | None,
    plan: str | None = None,
) -> Proposal:
    """The change for ``actions`` (all on one resource) given its current ``values``.

    Several endpoint settings merge into one PATCH: every PATCH wakes an idle compute.
    ``plan`` is the organization's billing plan id (None: unknown), for the suspend-timeout
    rules of its plan.
    """
    kinds = {action.type for action in actions}
    if kinds <= {"resize", "set_autosuspend"}:
        return _update_endpoint(actions, values, plan)
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
    if isinstance(action, SetRetentionAction):
        return _set_retention(action, values, plan)
    if isinstance(action, SetProjectDefaultsAction):
        return _set_project_defaults(action, values, plan)
    if isinstance(action, DeleteSnapshotAction):
        return _gone(DeleteSnapshot(), values, ("name", "created_at", "expires_at", "full_size"))
    if isinstance(action, SetBackupRetentionAction):
        return _set_backup_retention(action, values)
    if isinstance(action, DeleteProjectAction):
        return _gone(DeleteProject(), values, ("name", "created_at", "compute_last_active_at"))
    if isinstance(action, DeleteEndpointAction):
        return _gone(DeleteEndpoint(), values, ("type", "branch_id", "current_state"))
    if isinstance(action, DisableComputeAction):
        return _disable(values)
    raise ValueError(f"no change for action {action.type!r}")


def neon_refuses(change: Change, values: Mapping[str, Any], plan: str | None) -> str | None:
    """Why Neon would refuse ``change`` on the resource as ``values`` has it (None: it accepts).

    For the executor's last look before sending: the change's fields merged over the
    resource as just read, against the same rules the plan used.
    """
    if isinstance(change, UpdateProject):
        return _project_refusal(change.fields, values, plan)
    if not isinstance(change, UpdateEndpoint):
        return None
    fields = change.fields
    merged = {**{name: values.get(name) for name in ENDPOINT_FIELDS}, **fields}
    low = _number(merged.get("autoscaling_limit_min_cu"))
    high = _number(merged.get("autoscaling_limit_max_cu"))
    problems: list[str] = []
    if fields.keys() & UpdateEndpoint.RESIZE_FIELDS:
        if low is None or high is None:
            return "the compute's size is not known"
        problems += size_problems(low, high)
    seconds = fields.get("suspend_timeout_seconds")
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        problems += suspend_problems(
            seconds, plan, low if low is not None else MIN_CU, high if high is not None else MIN_CU
        )
    return "; ".join(problems) or None


def _resize_fields(
    action: ResizeAction, values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str], str | None]:
    """The limits to set for ``action`` (the cheapest valid target), notes, and why not."""
    current_min = _number(values.get("autoscaling_limit_min_cu"))
    current_max = _number(values.get("autoscaling_limit_max_cu"))
    if current_min is None or current_max is None:
        return {}, [], "the compute's size is not known"
    # ``resolve`` writes the kept maximum out; cheapest_target reads it as "keep it".
    target = cheapest_target(
        current_min=current_min,
        current_max=current_max,
        asked_min=action.min_cu,
        asked_max=action.max_cu,
        lower_max=action.lower_max,
    )
    if isinstance(target, NeedsPerson):
        return {}, [], target.reason
    fields: dict[str, Any] = {}
    if target.min_cu != current_min:
        fields["autoscaling_limit_min_cu"] = target.min_cu
    if target.max_cu != current_max:
        fields["autoscaling_limit_max_cu"] = target.max_cu
    if not fields:
        return {}, [], None
    notes = [f"resize {target.why}"]
    if target.reduces_peak:
        notes.append(
            f"reduces peak capacity: the maximum drops from {current_max:g} to {target.max_cu:g} CU"
        )
    notes.append("restarts the compute; connections drop")
    return fields, notes, None


def _update_endpoint(
    actions: Sequence[Action], values: Mapping[str, Any], plan: str | None
) -> Proposal:
    before = {name: values.get(name) for name in ENDPOINT_FIELDS if name in values}
    fields: dict[str, Any] = {}
    notes: list[str] = []
    blocked: list[str] = []  # "what: why" of each action that needs a person
    for action in actions:
        if isinstance(action, ResizeAction):
            resized, resize_notes, why_not = _resize_fields(action, values)
            fields.update(resized)
            notes += resize_notes
            if why_not is not None:
                blocked.append(f"the resize needs a person: {why_not}")
    size = {**before, **fields}
    low = _number(size.get("autoscaling_limit_min_cu"))
    high = _number(size.get("autoscaling_limit_max_cu"))
    for action in actions:
        if isinstance(action, SetAutosuspendAction):
            if values.get("suspend_timeout_seconds") == action.seconds:
                continue
            problems = suspend_problems(
                action.seconds,
                plan,
                low if low is not None else MIN_CU,
                high if high is not None else MIN_CU,
            )
            if problems:
                blocked.append(
                    f"suspend timeout {action.seconds} needs a person: {'; '.join(problems)}"
                )
            else:
                fields["suspend_timeout_seconds"] = action.seconds
    # in the order the actions came (the request reads as the policies asked)
    order = [
        name
        for action in actions
        for name in (
            ENDPOINT_FIELDS[2:] if isinstance(action, SetAutosuspendAction) else ENDPOINT_FIELDS[:2]
        )
    ]
    fields = {name: fields[name] for name in order if name in fields}
    after = {**before, **fields}
    if not fields:
        if blocked:
            return Proposal(None, before, after, "needs_person", "; ".join(blocked))
        return Proposal(None, before, after, "done_already", "already set as proposed")
    if blocked:
        notes += [f"{text}; the rest of the change goes ahead without it" for text in blocked]
    state = values.get("current_state")
    if state is not None and state != "active":
        notes.append("wakes the idle compute briefly (Neon applies the change, then suspends)")
    return Proposal(UpdateEndpoint(None, fields), before, after, "change", notes=tuple(notes))


def _suspend(values: Mapping[str, Any]) -> Proposal:
    state = values.get("current_state")
    before = {"current_state": state}
    if state == "idle":
        return Proposal(None, before, before, "done_already", "already suspended")
    return Proposal(
        SuspendEndpoint(),
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
        UpdateBranch(None, {"expires_at": text}),
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
        DeleteBranch(),
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
    return Proposal(
        RevokePersonalKey() if scope == "personal" else RevokeOrgKey(),
        before,
        {"revoked": True},
        "change",
        notes=("synchronous and cannot be undone: the key stops working at once",),
    )


# Project, snapshot, backup schedule and compute deletes (issue 18) ------------------------

DEFAULT_SETTING_NAMES = {
    "min_cu": "autoscaling_limit_min_cu",
    "max_cu": "autoscaling_limit_max_cu",
    "suspend_timeout_seconds": "suspend_timeout_seconds",
}
_GONE_NOTES: dict[str, str] = {
    "delete_snapshot": "deleted snapshots cannot be recovered",
    "delete_project": (
        "every compute, branch and restore point of the project goes; recoverable for 7 days "
        "(neon-governor revert)"
    ),
    "delete_endpoint": "its connections drop and its host name stops answering; no data is lost",
}


def _project_refusal(
    fields: Mapping[str, Any], values: Mapping[str, Any], plan: str | None
) -> str | None:
    problems: list[str] = []
    seconds = fields.get("history_retention_seconds")
    if isinstance(seconds, int):
        problems += retention_problems(seconds, plan)
    settings = fields.get("default_endpoint_settings")
    if isinstance(settings, dict):
        current = values.get("default_endpoint_settings")
        merged = {**(current if isinstance(current, dict) else {}), **settings}
        problems += _default_problems(merged, plan)
    return "; ".join(problems) or None


def _default_problems(settings: Mapping[str, Any], plan: str | None) -> list[str]:
    """Neon's compute rules on a project's default compute settings."""
    low = _number(settings.get("autoscaling_limit_min_cu"))
    high = _number(settings.get("autoscaling_limit_max_cu"))
    problems: list[str] = []
    if low is not None and high is not None:
        problems += size_problems(low, high)
    seconds = settings.get("suspend_timeout_seconds")
    if isinstance(seconds, int) and not isinstance(seconds, bool):
        problems += suspend_problems(seconds, plan, low or MIN_CU, high or low or MIN_CU)
    return problems


def _set_retention(
    action: SetRetentionAction, values: Mapping[str, Any], plan: str | None
) -> Proposal:
    """Shorten the restore window; the governor never lengthens one."""
    current = values.get("history_retention_seconds")
    before = {"history_retention_seconds": current}
    after = {"history_retention_seconds": action.seconds}
    if isinstance(current, bool) or not isinstance(current, int):
        return Proposal(None, before, before, "needs_person", "the restore window is not known")
    if current <= action.seconds:
        return Proposal(
            None,
            before,
            before,
            "done_already",
            f"the restore window is {current} s already, not above {action.seconds} s "
            "(the governor never lengthens it)",
        )
    problems = retention_problems(action.seconds, plan)
    if problems:
        return Proposal(None, before, after, "needs_person", "; ".join(problems))
    notes = [
        f"restore points older than the new window ({action.seconds} s) are gone for good",
    ]
    if action.seconds == 0:
        notes.append("0 turns off instant restore and time travel for the project")
    if plan is not None and plan.startswith("legacy"):
        notes.append(
            "on a legacy plan a shorter window can raise storage (history stops being shared)"
        )
    return Proposal(UpdateProject(None, after), before, after, "change", notes=tuple(notes))


def _set_project_defaults(
    action: SetProjectDefaultsAction, values: Mapping[str, Any], plan: str | None
) -> Proposal:
    """The defaults new computes inherit, sent whole with the asked settings changed."""
    raw = values.get("default_endpoint_settings")
    current: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    before = {"default_endpoint_settings": current}
    asked = {
        DEFAULT_SETTING_NAMES[name]: value
        for name, value in (
            ("min_cu", action.min_cu),
            ("max_cu", action.max_cu),
            ("suspend_timeout_seconds", action.suspend_timeout_seconds),
        )
        if value is not None
    }
    changed = {
        name: value for name, value in asked.items() if _number(current.get(name)) != _number(value)
    }
    if not changed:
        return Proposal(None, before, before, "done_already", "already set as proposed")
    merged = {**current, **changed}
    after = {"default_endpoint_settings": merged}
    problems = _default_problems(merged, plan)
    if problems:
        return Proposal(None, before, after, "needs_person", "; ".join(problems))
    return Proposal(
        UpdateProject(None, after),
        before,
        after,
        "change",
        notes=("preventive: computes created from now on inherit it; existing ones keep theirs",),
    )


def _gone(change: Change, values: Mapping[str, Any], names: tuple[str, ...]) -> Proposal:
    before = {name: values.get(name) for name in names if values.get(name) is not None}
    return Proposal(change, before, {"deleted": True}, "change", notes=(_GONE_NOTES[change.kind],))


def _set_backup_retention(action: SetBackupRetentionAction, values: Mapping[str, Any]) -> Proposal:
    """Every schedule item without a retention (or a longer one) gets the asked retention.

    The PUT replaces the schedule: the other items and settings go back as they were read.
    """
    raw = values.get("backup_schedule", values if "schedule" in values else None)
    schedule = _items(raw.get("schedule") if isinstance(raw, Mapping) else raw)
    before = {"schedule": schedule}
    if not isinstance(raw, Mapping | list):
        return Proposal(None, before, before, "needs_person", "the backup schedule was not read")
    seconds = int(action.retention.total_seconds())
    items = []
    for item in schedule:
        kept = item.get("retention_seconds")
        keeps_longer = not isinstance(kept, int) or isinstance(kept, bool) or kept > seconds
        items.append({**item, "retention_seconds": seconds} if keeps_longer else item)
    after = {"schedule": items}
    if items == schedule:
        return Proposal(
            None,
            before,
            before,
            "done_already",
            "every item keeps its snapshots for at most that long already",
        )
    return Proposal(
        UpdateBackupSchedule(None, after),
        before,
        after,
        "change",
        notes=(
            f"scheduled snapshots older than {seconds} s are deleted by Neon and cannot be "
            "recovered",
        ),
    )


def _disable(values: Mapping[str, Any]) -> Proposal:
    before = {"disabled": bool(values.get("disabled", False))}
    if before["disabled"]:
        return Proposal(None, before, before, "done_already", "already disabled")
    return Proposal(
        UpdateEndpoint(None, {"disabled": True}),
        before,
        {"disabled": True},
        "change",
        notes=(
            "Neon suspends it and refuses new connections until it is enabled again "
            "(neon-governor revert)",
        ),
    )
