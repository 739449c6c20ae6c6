"""Reading ``findings``: by id, by policy (for reconciling a run), listed for reports."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, NamedTuple

from governor.model.findings import EstimateKind, Mode, Severity
from governor.model.snapshot import ResourceType
from governor.store.connection import rows
from governor.store.encoding import decode_json
from governor.store.errors import NotFound, StoreError
from governor.store.finding_rules import FindingKey
from governor.store.records import (
    FINDING_STATUSES,
    FindingStatus,
    StoredFinding,
    cost_parts,
    stored_action,
)

_SEVERITY_RANK_SQL = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"


def get(connection: sqlite3.Connection, finding_id: int) -> StoredFinding:
    found = rows(connection, "SELECT * FROM findings WHERE id = ?", [finding_id])
    if not found:
        raise NotFound(f"no finding with id {finding_id}")
    return StoredFinding.from_row(found[0])


class StoredRow(NamedTuple):
    """A findings row as read, action and evidence still text: what reconciling a run
    needs of 100,000 stored findings, without decoding each (and all plain values, which
    the garbage collector need not track). ``decoded`` makes the StoredFinding."""

    id: int
    policy: str
    resource_type: ResourceType
    resource_id: str
    org_id: str | None
    project_id: str | None
    name: str
    severity: Severity
    summary: str
    action: str
    mode: Mode
    status: FindingStatus
    first_seen: str
    last_seen: str
    status_changed_at: str
    resolved_at: str | None
    reopened_at: str | None
    reopen_count: int
    fingerprint: str
    evidence: str
    estimate_usd: float | None
    estimate_method: str | None
    estimate_kind: EstimateKind | None
    first_run_id: int
    last_run_id: int
    resolved_run_id: int | None
    estimate_parts: str
    owned_by: str | None
    owned_by_rule: str | None

    @property
    def key(self) -> FindingKey:
        return (self.policy, self.resource_type, self.resource_id)

    def decoded(self, **changes: Any) -> StoredFinding:
        """The StoredFinding, with ``changes`` (decoded values) in place of stored ones."""
        values: list[Any] = list(self)
        for name, value in changes.items():
            values[_INDEX[name]] = value
        if "action" not in changes:
            values[_INDEX["action"]] = stored_action(self.action, self.id)
        if "evidence" not in changes:
            values[_INDEX["evidence"]] = decode_json(self.evidence, default={})
        if "estimate_parts" not in changes:
            values[_INDEX["estimate_parts"]] = cost_parts(self.estimate_parts)
        return StoredFinding(*values)


_FIELDS_SQL = ", ".join(StoredRow._fields)
_INDEX = {name: index for index, name in enumerate(StoredRow._fields)}


def load(connection: sqlite3.Connection, policies: Sequence[str]) -> dict[FindingKey, StoredRow]:
    """Every stored finding of these policies, by (policy, resource type, resource id)."""
    if not policies:
        return {}
    marks = ", ".join("?" * len(policies))
    cursor = connection.execute(
        f"SELECT {_FIELDS_SQL} FROM findings WHERE policy IN ({marks})", policies
    )
    loaded: dict[FindingKey, StoredRow] = {}
    for row in map(StoredRow._make, cursor):
        loaded[(row.policy, row.resource_type, row.resource_id)] = row
    return loaded


def listed(
    connection: sqlite3.Connection, status: str | None, policy: str | None
) -> list[StoredFinding]:
    """By severity (high first), then policy and resource; ``None`` = any."""
    if status is not None and status not in FINDING_STATUSES:
        raise StoreError(
            f"unknown finding status {status!r}; use one of {sorted(FINDING_STATUSES)}"
        )
    clauses: list[str] = []
    params: list[Any] = []
    if status is not None:
        clauses.append("status = ?")
        params.append(status)
    if policy is not None:
        clauses.append("policy = ?")
        params.append(policy)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = (
        f"SELECT * FROM findings {where} "
        f"ORDER BY {_SEVERITY_RANK_SQL}, policy, resource_type, resource_id"
    )
    return [StoredFinding.from_row(row) for row in rows(connection, sql, params)]
