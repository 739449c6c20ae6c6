"""The only writer of ``findings``: one run's findings applied, and a person's suppressions.

Called inside the store's write transaction: any error rolls the whole step back. Audit
entries are handed back as rows (``NewEntry.values``) for ``audit_log`` to append (its
only writer), and the counts for ``runs``.
"""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from governor.model.findings import Finding
from governor.store.audit_log import NewEntry
from governor.store.coverage import Coverage
from governor.store.errors import StoreError
from governor.store.finding_queries import StoredRow, get, load
from governor.store.finding_rules import FindingKey, plan_changes, validate_findings
from governor.store.finding_values import (
    REFRESHED,
    UNSTAMPED,
    FindingValues,
    Ownership,
    read_back,
)
from governor.store.records import FindingStatus, StoredFinding

_KEY = ("policy", "resource_type", "resource_id")
_OPENED = (*_KEY, *REFRESHED, "first_seen", "last_seen", "status_changed_at")
_INSERT = (
    f"INSERT INTO findings ({', '.join(_OPENED)}, status, reopen_count, first_run_id, "
    f"last_run_id) VALUES ({', '.join('?' * len(_OPENED))}, 'open', 0, ?, ?)"
)
_SET_REFRESHED = ", ".join(f"{column} = ?" for column in REFRESHED)
_REFRESH = f"UPDATE findings SET {_SET_REFRESHED}, last_seen = ?, last_run_id = ? WHERE id = ?"
_SEEN_AGAIN = (
    "UPDATE findings SET last_seen = ?, last_run_id = ? "
    "WHERE id IN (SELECT value FROM json_each(?))"
)
_refreshed_of = operator.itemgetter(*(StoredRow._fields.index(name) for name in REFRESHED))
_REOPEN = (
    f"UPDATE findings SET {_SET_REFRESHED}, last_seen = ?, last_run_id = ?, status = 'open', "
    "status_changed_at = ?, resolved_at = NULL, resolved_run_id = NULL, reopened_at = ?, "
    "reopen_count = reopen_count + 1 WHERE id = ?"
)
_RESOLVE = (
    "UPDATE findings SET status = 'resolved', status_changed_at = ?, resolved_at = ?, "
    "resolved_run_id = ? WHERE id = ?"
)


@dataclass
class Written:
    """What one run did to the findings: as stored, plus what the log and the run record."""

    stored: list[StoredFinding]  # this run's findings in the order given, then the resolved
    opened: int = 0
    reopened: int = 0
    resolved: int = 0
    audit: list[tuple[Any, ...]] = field(default_factory=list)  # NewEntry.values() each


def _identity(finding: Finding | StoredRow) -> dict[str, Any]:
    return {
        "policy": finding.policy,
        "resource_type": finding.resource_type,
        "resource_id": finding.resource_id,
        "name": finding.name,
        "org_id": finding.org_id,
        "project_id": finding.project_id,
    }


class _Step:
    """One run's writes to ``findings``; each change also gives the row as it now reads."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        values: dict[FindingKey, tuple[Any, ...]],
        *,
        run_id: int,
        at: str,
        actor: str,
    ) -> None:
        self.connection, self.values = connection, values
        self.run_id, self.at, self.actor = run_id, at, actor
        self.after: dict[FindingKey, StoredFinding] = {}
        self.audit: list[tuple[Any, ...]] = []

    def log(self, event: str, finding_id: int, details: dict[str, Any]) -> None:
        entry = NewEntry(self.at, self.run_id, self.actor, event, f"finding:{finding_id}", details)
        self.audit.append(entry.values())

    def open(self, opened: list[Finding]) -> None:
        at, run_id = self.at, self.run_id
        keys = [finding.key for finding in opened]
        (last_id,) = self.connection.execute("SELECT COALESCE(MAX(id), 0) FROM findings").fetchone()
        self.connection.executemany(
            _INSERT, [(*key, *self.values[key], at, at, at, run_id, run_id) for key in keys]
        )
        # AUTOINCREMENT never reuses an id, and we hold the write lock: the new rows are these.
        new_ids = {
            (policy, resource_type, resource_id): finding_id
            for policy, resource_type, resource_id, finding_id in self.connection.execute(
                "SELECT policy, resource_type, resource_id, id FROM findings WHERE id > ?",
                [last_id],
            )
        }
        for key, finding in zip(keys, opened, strict=True):
            stored = StoredFinding(
                **read_back(self.values[key]),
                id=new_ids[key],
                policy=finding.policy,
                resource_type=finding.resource_type,
                resource_id=finding.resource_id,
                status="open",
                first_seen=at,
                last_seen=at,
                status_changed_at=at,
                resolved_at=None,
                reopened_at=None,
                reopen_count=0,
                first_run_id=run_id,
                last_run_id=run_id,
                resolved_run_id=None,
            )
            self.after[key] = stored
            details = _identity(finding) | {"fingerprint": finding.fingerprint}
            self.log("finding.opened", stored.id, details)

    def refresh(self, refreshed: list[tuple[StoredRow, Finding]]) -> None:
        """Rows whose columns did not change (a re-run's usual case) only get seen again."""
        at, run_id = self.at, self.run_id
        same = [
            (stored, f) for stored, f in refreshed if _refreshed_of(stored) == self.values[f.key]
        ]
        if same:
            ids = json.dumps([stored.id for stored, _ in same])
            self.connection.execute(_SEEN_AGAIN, [at, run_id, ids])
        for stored, finding in same:
            self.after[finding.key] = stored.decoded(last_seen=at, last_run_id=run_id)
        changed = [
            (stored, f) for stored, f in refreshed if _refreshed_of(stored) != self.values[f.key]
        ]
        self.connection.executemany(
            _REFRESH, [(*self.values[f.key], at, run_id, stored.id) for stored, f in changed]
        )
        for stored, finding in changed:
            self.after[finding.key] = stored.decoded(
                **read_back(self.values[finding.key]), last_seen=at, last_run_id=run_id
            )
            if stored.fingerprint != finding.fingerprint:
                details = {
                    "fingerprint": finding.fingerprint,
                    "previous_fingerprint": stored.fingerprint,
                }
                self.log("finding.changed", stored.id, details)

    def reopen(self, reopened: list[tuple[StoredRow, Finding]]) -> None:
        at, run_id = self.at, self.run_id
        self.connection.executemany(
            _REOPEN,
            [(*self.values[f.key], at, run_id, at, at, stored.id) for stored, f in reopened],
        )
        for stored, finding in reopened:
            self.after[finding.key] = stored.decoded(
                **read_back(self.values[finding.key]),
                last_seen=at,
                last_run_id=run_id,
                status="open",
                status_changed_at=at,
                resolved_at=None,
                resolved_run_id=None,
                reopened_at=at,
                reopen_count=stored.reopen_count + 1,
            )
            details = _identity(finding) | {
                "previously_resolved_at": stored.resolved_at,
                "reopen_count": stored.reopen_count + 1,
                "fingerprint": finding.fingerprint,
            }
            self.log("finding.reopened", stored.id, details)

    def resolve(self, resolved: list[StoredRow]) -> None:
        at, run_id = self.at, self.run_id
        self.connection.executemany(_RESOLVE, [(at, at, run_id, stored.id) for stored in resolved])
        for stored in resolved:
            self.after[stored.key] = stored.decoded(
                status="resolved",
                status_changed_at=at,
                resolved_at=at,
                resolved_run_id=run_id,
            )
            details = _identity(stored) | {
                "last_seen": stored.last_seen,
                "reason": "no longer matches",
            }
            self.log("finding.resolved", stored.id, details)


def _checked_values(
    findings: Sequence[Finding],
    policies_evaluated: Sequence[str],
    owners: Mapping[FindingKey, Ownership] | None,
) -> dict[FindingKey, tuple[Any, ...]]:
    """The findings checked against the policies evaluated, and each one's column values
    with its owner stamp (unstamped where ``owners`` has none): what a whole run and a
    streamed batch both write."""
    validate_findings(findings, policies_evaluated)
    encoder = FindingValues()
    stamps = owners or {}
    return {
        finding.key: encoder.values(finding, stamps.get(finding.key, UNSTAMPED))
        for finding in findings
    }


def write_findings(
    connection: sqlite3.Connection,
    *,
    run_id: int,
    findings: Sequence[Finding],
    coverage: Coverage,
    policies_evaluated: Sequence[str],
    at: str,
    actor: str,
    owners: Mapping[FindingKey, Ownership] | None = None,
) -> Written:
    """Apply the changes; the findings come back as their rows now read (built, not re-read).

    ``owners``: each finding's (owned_by, owned_by_rule), refreshed like its other columns
    (a finding missing from it, or no ``owners``: unstamped). Resolved findings keep the
    owner they had, so an owner's digest can say what was resolved."""
    values = _checked_values(findings, policies_evaluated, owners)
    policies = sorted(set(policies_evaluated))
    changes = plan_changes(load(connection, policies), findings, policies, coverage)
    step = _Step(connection, values, run_id=run_id, at=at, actor=actor)
    step.open(changes.opened)
    step.refresh(changes.refreshed)
    step.reopen(changes.reopened)
    step.resolve(changes.resolved)
    return Written(
        stored=[step.after[finding.key] for finding in findings]
        + [step.after[stored.key] for stored in changes.resolved],
        opened=len(changes.opened),
        reopened=len(changes.reopened),
        resolved=len(changes.resolved),
        audit=step.audit,
    )


_BY_KEYS = (
    f"SELECT {', '.join(StoredRow._fields)} FROM findings WHERE (policy, resource_type, "
    "resource_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]') FROM json_each(?))"
)
_UNSEEN = (
    f"SELECT {', '.join(StoredRow._fields)} FROM findings WHERE status = 'open' "
    "AND last_run_id IS NOT ? AND policy IN (SELECT value FROM json_each(?))"
)


def write_batch(
    connection: sqlite3.Connection,
    *,
    run_id: int,
    findings: Sequence[Finding],
    policies_evaluated: Sequence[str],
    at: str,
    actor: str,
    owners: Mapping[FindingKey, Ownership] | None = None,
) -> Written:
    """One streamed batch of a run's findings: opened, refreshed or reopened as by
    ``write_findings``, reading only these findings' rows; nothing is resolved here
    (``resolve_unseen`` does it once the run's last batch is in)."""
    values = _checked_values(findings, policies_evaluated, owners)
    keys = json.dumps([list(finding.key) for finding in findings])
    existing: dict[FindingKey, StoredRow] = {
        (row.policy, row.resource_type, row.resource_id): row
        for row in map(StoredRow._make, connection.execute(_BY_KEYS, [keys]))
    }
    changes = plan_changes(existing, findings, (), _NOTHING_COVERED)
    step = _Step(connection, values, run_id=run_id, at=at, actor=actor)
    step.open(changes.opened)
    step.refresh(changes.refreshed)
    step.reopen(changes.reopened)
    return Written(
        stored=[step.after[finding.key] for finding in findings],
        opened=len(changes.opened),
        reopened=len(changes.reopened),
        audit=step.audit,
    )


def resolve_unseen(
    connection: sqlite3.Connection,
    *,
    run_id: int,
    coverage: Coverage,
    policies_evaluated: Sequence[str],
    at: str,
    actor: str,
) -> Written:
    """After a streamed run's batches: resolve the open findings of the policies evaluated
    that this run did not see (its batches set ``last_run_id``) where the sweep covered
    their resource, as ``write_findings`` resolves them."""
    policies = json.dumps(sorted(set(policies_evaluated)))
    resolved = [
        row
        for row in map(StoredRow._make, connection.execute(_UNSEEN, [run_id, policies]))
        if coverage.covers(row.resource_type, row.org_id, row.project_id)
    ]
    step = _Step(connection, {}, run_id=run_id, at=at, actor=actor)
    step.resolve(resolved)
    return Written(
        stored=[step.after[row.key] for row in resolved],
        resolved=len(resolved),
        audit=step.audit,
    )


class _NoCoverage:
    """Covers nothing: a batch never resolves (``plan_changes`` gets no policies either)."""

    def covers(self, *_: object) -> bool:
        return False


_NOTHING_COVERED: Any = _NoCoverage()


def set_status(
    connection: sqlite3.Connection,
    finding_id: int,
    status: FindingStatus,
    *,
    at: str,
) -> tuple[StoredFinding, StoredFinding]:
    """Suppress or unsuppress; returns (before, after), the same when nothing changed."""
    current = get(connection, finding_id)
    if current.status == status:
        return current, current
    if status == "open" and current.status != "suppressed":
        raise StoreError(f"finding {finding_id} is {current.status}, not suppressed")
    connection.execute(
        "UPDATE findings SET status = ?, status_changed_at = ?, resolved_at = NULL, "
        "resolved_run_id = NULL WHERE id = ?",
        [status, at, finding_id],
    )
    return current, get(connection, finding_id)
