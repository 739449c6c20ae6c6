"""The only writer of ``remediations``, ``finding_notices`` and ``switches``.

Why one module: a remediation moves through its states only by compare-and-set
(``UPDATE ... WHERE id = ? AND state IN (...)``), each move appends its audit entry in the
same transaction, and the partial unique index keeps one active remediation per resource.
Two processes that race for the same move: exactly one wins, the other learns it lost.

These functions are the API (no wrapper class): each write takes the connection first,
encodes its own times and is one ``BEGIN IMMEDIATE`` step with its audit entry. Commands
call ``store.call(remediations.move, record_id, expected=..., to=..., now=...)``, async code
``await store.run(remediations.move, ...)`` (one error guard, one thread: store.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from governor.model.changes import Change, parse_change
from governor.store import audit_log
from governor.store.audit_log import DEFAULT_ACTOR, NewEntry
from governor.store.connection import rows, write
from governor.store.encoding import decode_json, encode_json, encode_time
from governor.store.errors import StoreError

RemediationState = Literal[
    "planned",
    "awaiting_approval",
    "approved",
    "rejected",
    "expired",
    "executing",
    "waiting_operations",
    "succeeded",
    "failed",
    "skipped",
]
ACTIVE_STATES: tuple[RemediationState, ...] = (
    "planned",
    "awaiting_approval",
    "approved",
    "executing",
    "waiting_operations",
)
TERMINAL_STATES: tuple[RemediationState, ...] = (
    "rejected",
    "expired",
    "succeeded",
    "failed",
    "skipped",
)
# Which moves the state machine allows; anything else is a bug and raises.
TRANSITIONS: dict[RemediationState, frozenset[RemediationState]] = {
    "planned": frozenset({"executing", "skipped"}),
    "awaiting_approval": frozenset({"approved", "rejected", "expired", "skipped"}),
    "approved": frozenset({"executing", "skipped", "expired"}),
    "executing": frozenset({"waiting_operations", "succeeded", "failed", "skipped"}),
    "waiting_operations": frozenset({"succeeded", "failed"}),
}
_JSON_COLUMNS = ("findings", "change", "before", "after", "operations")
SWITCH_PAUSED = "paused"


@dataclass(frozen=True)
class NewRemediation:
    """What the planner hands the store: one row to insert."""

    account: str
    policy: str
    mode: str
    findings: list[dict[str, Any]]
    resource_type: str
    resource_id: str
    org_id: str | None
    project_id: str | None
    resource_name: str
    change: Change
    before: dict[str, Any]
    after: dict[str, Any]
    disruptive: bool
    irreversible: bool
    why: str
    estimate_usd: float | None
    state: RemediationState
    run_id: int | None = None
    reverts_id: int | None = None
    plan_hash: str | None = None
    approval_expires_at: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class RemediationRecord:
    """One row of ``remediations``; times are stored UTC text."""

    id: int
    run_id: int | None
    reverts_id: int | None
    account: str
    policy: str
    mode: str
    findings: list[dict[str, Any]]
    resource_type: str
    resource_id: str
    org_id: str | None
    project_id: str | None
    resource_name: str
    change: Change  # parsed once, when read (the stored form is its ``as_json``)
    before: dict[str, Any]
    after: dict[str, Any]
    disruptive: bool
    irreversible: bool
    why: str
    estimate_usd: float | None
    plan_hash: str | None
    state: RemediationState
    reason: str | None
    created_at: str
    updated_at: str
    approval_expires_at: str | None
    decided_by: str | None
    decided_at: str | None
    intent_at: str | None
    sent_at: str | None
    finished_at: str | None
    operations: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    request_id: str | None = None
    recoverable_until: str | None = None
    owner: str | None = None  # who holds it while executing (governor.remediate.ownership)
    send_deadline: str | None = None  # until when the journaled request may still land

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RemediationRecord:
        values = dict(row)
        for name in _JSON_COLUMNS:
            values[name] = decode_json(
                values[name], default=[] if name in ("findings", "operations") else {}
            )
        values["change"] = parse_change(values["change"])
        values["disruptive"] = bool(values["disruptive"])
        values["irreversible"] = bool(values["irreversible"])
        return cls(**values)

    @property
    def subject(self) -> str:
        return f"remediation:{self.id}"

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass(frozen=True)
class SwitchRecord:
    name: str
    value: str
    reason: str | None
    set_by: str
    set_at: str


def add(
    connection: sqlite3.Connection,
    new: NewRemediation,
    *,
    now: datetime,
    actor: str = DEFAULT_ACTOR,
) -> tuple[RemediationRecord, bool]:
    """Insert ``new``; when the resource already has an active remediation, return that one.

    Returns ``(record, created)``.
    """
    at = encode_time(now, what="now")
    with write(connection):
        existing = active_for(connection, new.resource_type, new.resource_id)
        if existing is not None:
            return existing, False
        values = {
            "run_id": new.run_id,
            "reverts_id": new.reverts_id,
            "account": new.account,
            "policy": new.policy,
            "mode": new.mode,
            "findings": encode_json(new.findings, what="remediation findings"),
            "resource_type": new.resource_type,
            "resource_id": new.resource_id,
            "org_id": new.org_id,
            "project_id": new.project_id,
            "resource_name": new.resource_name,
            "change": encode_json(new.change.as_json(), what="remediation change"),
            "before": encode_json(new.before, what="remediation before"),
            "after": encode_json(new.after, what="remediation after"),
            "disruptive": int(new.disruptive),
            "irreversible": int(new.irreversible),
            "why": new.why,
            "estimate_usd": new.estimate_usd,
            "plan_hash": new.plan_hash,
            "state": new.state,
            "reason": new.reason,
            "created_at": at,
            "updated_at": at,
            "approval_expires_at": new.approval_expires_at,
        }
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cursor = connection.execute(
            f"INSERT INTO remediations ({names}) VALUES ({marks})", list(values.values())
        )
        remediation_id = int(cursor.lastrowid or 0)
        audit_log.append(
            connection,
            NewEntry(
                at,
                new.run_id,
                actor,
                "remediation_" + new.state,
                f"remediation:{remediation_id}",
                {
                    "resource": f"{new.resource_type}:{new.resource_id}",
                    "policy": new.policy,
                    "change": new.change.as_json(),
                    "reason": new.reason,
                },
            ),
        )
        return get(connection, remediation_id), True


def get(connection: sqlite3.Connection, remediation_id: int) -> RemediationRecord:
    found = rows(connection, "SELECT * FROM remediations WHERE id = ?", [remediation_id])
    if not found:
        raise StoreError(f"no remediation {remediation_id}")
    return RemediationRecord.from_row(found[0])


def active_for(
    connection: sqlite3.Connection, resource_type: str, resource_id: str
) -> RemediationRecord | None:
    marks = ", ".join("?" for _ in ACTIVE_STATES)
    found = rows(
        connection,
        f"SELECT * FROM remediations WHERE resource_type = ? AND resource_id = ? "
        f"AND state IN ({marks})",
        [resource_type, resource_id, *ACTIVE_STATES],
    )
    return RemediationRecord.from_row(found[0]) if found else None


def latest_ended(connection: sqlite3.Connection, states: Sequence[str]) -> list[RemediationRecord]:
    """Each resource's latest remediation, where that one ended in one of ``states``.

    The planner reads them so that a person's "no" and Neon's refusal hold.
    """
    marks = ", ".join("?" for _ in states)
    found = rows(
        connection,
        "SELECT r.* FROM remediations r JOIN (SELECT MAX(id) AS id FROM remediations "
        "GROUP BY resource_type, resource_id) latest ON r.id = latest.id "
        f"WHERE r.state IN ({marks}) ORDER BY r.id",
        list(states),
    )
    return [RemediationRecord.from_row(row) for row in found]


def account_of_project(connection: sqlite3.Connection, project_id: str) -> str | None:
    """The account the project's latest remediation was recorded under (None: none yet)."""
    found = rows(
        connection,
        "SELECT account FROM remediations WHERE project_id = ? ORDER BY id DESC LIMIT 1",
        [project_id],
    )
    return str(found[0]["account"]) if found else None


def listed(
    connection: sqlite3.Connection,
    *,
    states: Sequence[str] = (),
    limit: int | None = None,
) -> list[RemediationRecord]:
    sql = "SELECT * FROM remediations"
    parameters: list[Any] = []
    if states:
        sql += f" WHERE state IN ({', '.join('?' for _ in states)})"
        parameters.extend(states)
    sql += " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ?"
        parameters.append(limit)
    return [RemediationRecord.from_row(row) for row in rows(connection, sql, parameters)]


def move(
    connection: sqlite3.Connection,
    remediation_id: int,
    *,
    expected: Iterable[RemediationState],
    to: RemediationState,
    now: datetime,
    actor: str = DEFAULT_ACTOR,
    reason: str | None = None,
    changes: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    owned_by: str | None = None,
) -> RemediationRecord | None:
    """Move from one of ``expected`` to ``to``; None when the row was not in ``expected``.

    ``owned_by``: also None unless the row's ``owner`` is still that (not taken over).

    The transition is checked from the state the row is actually in (read in this same
    write transaction), not from every expected state: a caller may list states of which
    only some lead to ``to``, and the row's own state decides.
    """
    at = encode_time(now, what="now")
    with write(connection):
        expected = tuple(expected)
        found = rows(connection, "SELECT state FROM remediations WHERE id = ?", [remediation_id])
        current = found[0]["state"] if found else None
        if current not in expected:
            return None
        if to not in TRANSITIONS.get(current, frozenset()) and to != current:
            raise StoreError(f"remediation {remediation_id}: no transition {current} -> {to}")
        expected = (current,)
        values: dict[str, Any] = {"state": to, "updated_at": at}
        if reason is not None:
            values["reason"] = reason
        if to in TERMINAL_STATES:
            values["finished_at"] = at
        for name, value in (changes or {}).items():
            values[name] = (
                encode_json(value, what=f"remediation {name}") if name in _JSON_COLUMNS else value
            )
        assignments = ", ".join(f"{name} = ?" for name in values)
        marks = ", ".join("?" for _ in expected)
        owned = "" if owned_by is None else " AND owner = ?"
        cursor = connection.execute(
            f"UPDATE remediations SET {assignments} WHERE id = ? AND state IN ({marks}){owned}",
            [
                *values.values(),
                remediation_id,
                *expected,
                *([] if owned_by is None else [owned_by]),
            ],
        )
        if cursor.rowcount != 1:
            return None
        record = get(connection, remediation_id)
        entry: dict[str, Any] = {"from": list(expected), "to": to, "reason": reason}
        entry.update(details or {})
        audit_log.append(
            connection,
            NewEntry(at, record.run_id, actor, "remediation_" + to, record.subject, entry),
        )
        return record


def progress(
    connection: sqlite3.Connection,
    remediation_id: int,
    *,
    state: RemediationState,
    now: datetime,
    changes: Mapping[str, Any],
    owned_by: str | None = None,
) -> bool:
    """Record progress (operations polled) without a move; False if the state changed
    (or, with ``owned_by``, the row is no longer held by that owner)."""
    at = encode_time(now, what="now")
    with write(connection):
        values: dict[str, Any] = {"updated_at": at}
        for name, value in changes.items():
            values[name] = (
                encode_json(value, what=f"remediation {name}") if name in _JSON_COLUMNS else value
            )
        assignments = ", ".join(f"{name} = ?" for name in values)
        owned = "" if owned_by is None else " AND owner = ?"
        cursor = connection.execute(
            f"UPDATE remediations SET {assignments} WHERE id = ? AND state = ?{owned}",
            [*values.values(), remediation_id, state, *([] if owned_by is None else [owned_by])],
        )
        return cursor.rowcount == 1


def take_over(
    connection: sqlite3.Connection,
    remediation_id: int,
    *,
    state: RemediationState,
    owner_was: str | None,
    owner: str,
    now: datetime,
    actor: str = DEFAULT_ACTOR,
    reason: str,
) -> RemediationRecord | None:
    """Become the owner of an unfinished row whose owner is dead; None when another
    process changed its state or owner first (compare-and-set on both)."""
    at = encode_time(now, what="now")
    with write(connection):
        if state not in ("executing", "waiting_operations"):
            raise StoreError(f"remediation {remediation_id}: only unfinished work is taken over")
        cursor = connection.execute(
            "UPDATE remediations SET owner = ?, updated_at = ? "
            "WHERE id = ? AND state = ? AND owner IS ?",
            [owner, at, remediation_id, state, owner_was],
        )
        if cursor.rowcount != 1:
            return None
        record = get(connection, remediation_id)
        audit_log.append(
            connection,
            NewEntry(
                at,
                record.run_id,
                actor,
                "remediation_taken_over",
                record.subject,
                {"state": state, "owner_was": owner_was, "owner": owner, "reason": reason},
            ),
        )
        return record


def record_notice(
    connection: sqlite3.Connection,
    finding_id: int,
    *,
    now: datetime,
    via: str,
    details: dict[str, Any],
) -> bool:
    """The notice for a finding went out; False when one already had (the first one counts)."""
    at = encode_time(now, what="now")
    with write(connection):
        cursor = connection.execute(
            "INSERT OR IGNORE INTO finding_notices (finding_id, noticed_at, via) VALUES (?, ?, ?)",
            [finding_id, at, via],
        )
        if cursor.rowcount != 1:
            return False
        audit_log.append(
            connection,
            NewEntry(at, None, "governor", "notice_sent", f"finding:{finding_id}", details),
        )
        return True


def notices(connection: sqlite3.Connection, finding_ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(finding_ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for row in rows(
            connection,
            "SELECT finding_id, noticed_at FROM finding_notices "
            f"WHERE finding_id IN ({', '.join('?' for _ in chunk)})",
            chunk,
        ):
            found[int(row["finding_id"])] = str(row["noticed_at"])
    return found


def _set_switch(
    connection: sqlite3.Connection,
    name: str,
    value: str | None,
    *,
    reason: str | None,
    actor: str,
    at: str,
) -> None:
    """Set (or, with ``value=None``, clear) a switch, with its audit entry."""
    if value is None:
        connection.execute("DELETE FROM switches WHERE name = ?", [name])
    else:
        connection.execute(
            "INSERT INTO switches (name, value, reason, set_by, set_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, reason = excluded.reason, "
            "set_by = excluded.set_by, set_at = excluded.set_at",
            [name, value, reason, actor, at],
        )
    audit_log.append(
        connection,
        NewEntry(
            at, None, actor, "switch_set", f"switch:{name}", {"value": value, "reason": reason}
        ),
    )


def _switch(connection: sqlite3.Connection, name: str) -> SwitchRecord | None:
    found = rows(connection, "SELECT * FROM switches WHERE name = ?", [name])
    return SwitchRecord(**found[0]) if found else None


def set_paused(
    connection: sqlite3.Connection, paused: bool, *, reason: str | None, actor: str, now: datetime
) -> None:
    """Pause (or resume) every executor, with its audit entry."""
    at = encode_time(now, what="now")
    with write(connection):
        _set_switch(
            connection, SWITCH_PAUSED, "true" if paused else None, reason=reason, actor=actor, at=at
        )


def paused(connection: sqlite3.Connection) -> SwitchRecord | None:
    """The pause switch when set (every executor checks it before every mutation)."""
    return _switch(connection, SWITCH_PAUSED)
