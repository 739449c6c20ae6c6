"""Apply one run's findings to the ``findings`` table and the audit log.

Called inside the caller's ``db.atomic()`` block: any error rolls the whole step back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from governor.findings import Finding
from governor.store.coverage import Coverage
from governor.store.encoding import encode_json
from governor.store.reconcile import (
    FindingKey,
    describe,
    plan_changes,
    validate_findings,
)
from governor.store.records import StoredFinding

# Columns a new sighting refreshes on every run, whatever the status.
_REFRESHED = (
    "org_id",
    "project_id",
    "name",
    "severity",
    "summary",
    "action",
    "mode",
    "fingerprint",
    "evidence",
    "estimate_usd",
    "estimate_method",
    "estimate_kind",
)


def _refreshed_values(finding: Finding) -> dict[str, Any]:
    where = describe(finding.key)
    estimate = finding.estimate
    return {
        "org_id": finding.org_id,
        "project_id": finding.project_id,
        "name": finding.name,
        "severity": finding.severity,
        "summary": finding.summary,
        "action": encode_json(finding.action.as_json(), what=f"{where}: action"),
        "mode": finding.mode,
        "fingerprint": finding.fingerprint,
        "evidence": encode_json(finding.evidence, what=f"{where}: evidence"),
        "estimate_usd": None if estimate is None else round(float(estimate.monthly_usd), 2),
        "estimate_method": None if estimate is None else estimate.method,
        "estimate_kind": None if estimate is None else estimate.kind,
    }


def _load(db: Database, policies: Sequence[str]) -> dict[FindingKey, StoredFinding]:
    if not policies:
        return {}
    marks = ", ".join("?" * len(policies))
    rows = db.query(f"SELECT * FROM findings WHERE policy IN ({marks})", list(policies))
    stored = (StoredFinding.from_row(row) for row in rows)
    return {finding.key: finding for finding in stored}


def _subject(finding_id: int) -> str:
    return f"finding:{finding_id}"


def _identity(finding: Finding | StoredFinding) -> dict[str, Any]:
    return {
        "policy": finding.policy,
        "resource_type": finding.resource_type,
        "resource_id": finding.resource_id,
        "name": finding.name,
        "org_id": finding.org_id,
        "project_id": finding.project_id,
    }


def write_findings(
    db: Database,
    *,
    run_id: int,
    findings: Sequence[Finding],
    coverage: Coverage,
    incomplete_parts: list[dict[str, Any]],
    policies_evaluated: Sequence[str],
    at: str,
    actor: str,
) -> list[StoredFinding]:
    validate_findings(findings, policies_evaluated)
    values = {finding.key: _refreshed_values(finding) for finding in findings}
    policies = sorted(set(policies_evaluated))
    changes = plan_changes(_load(db, policies), findings, policies, coverage)
    audit: list[dict[str, Any]] = []

    def log(event: str, finding_id: int, details: dict[str, Any]) -> None:
        audit.append(
            {
                "at": at,
                "run_id": run_id,
                "actor": actor,
                "event": event,
                "subject": _subject(finding_id),
                "details": encode_json(details, what=f"audit {event}: details"),
            }
        )

    if changes.opened:
        db.table("findings").insert_all(
            {
                "policy": finding.policy,
                "resource_type": finding.resource_type,
                "resource_id": finding.resource_id,
                **values[finding.key],
                "status": "open",
                "first_seen": at,
                "last_seen": at,
                "status_changed_at": at,
                "reopen_count": 0,
                "first_run_id": run_id,
                "last_run_id": run_id,
            }
            for finding in changes.opened
        )
    refresh_sql = ", ".join(f"{column} = :{column}" for column in _REFRESHED)
    for stored, finding in changes.refreshed:
        db.execute(
            f"UPDATE findings SET {refresh_sql}, last_seen = :at, last_run_id = :run_id "
            "WHERE id = :id",
            {**values[finding.key], "at": at, "run_id": run_id, "id": stored.id},
        )
        if stored.fingerprint != finding.fingerprint:
            log(
                "finding.changed",
                stored.id,
                {"fingerprint": finding.fingerprint, "previous_fingerprint": stored.fingerprint},
            )
    for stored, finding in changes.reopened:
        db.execute(
            f"UPDATE findings SET {refresh_sql}, last_seen = :at, last_run_id = :run_id, "
            "status = 'open', status_changed_at = :at, resolved_at = NULL, "
            "resolved_run_id = NULL, reopened_at = :at, reopen_count = reopen_count + 1 "
            "WHERE id = :id",
            {**values[finding.key], "at": at, "run_id": run_id, "id": stored.id},
        )
        log(
            "finding.reopened",
            stored.id,
            {
                **_identity(finding),
                "previously_resolved_at": stored.resolved_at,
                "reopen_count": stored.reopen_count + 1,
                "fingerprint": finding.fingerprint,
            },
        )
    for stored in changes.resolved:
        db.execute(
            "UPDATE findings SET status = 'resolved', status_changed_at = :at, "
            "resolved_at = :at, resolved_run_id = :run_id WHERE id = :id",
            {"at": at, "run_id": run_id, "id": stored.id},
        )
        log(
            "finding.resolved",
            stored.id,
            {**_identity(stored), "last_seen": stored.last_seen, "reason": "no longer matches"},
        )

    after = _load(db, policies)
    resolved_and_more = audit
    audit = []
    for finding in changes.opened:
        log(
            "finding.opened",
            after[finding.key].id,
            {**_identity(finding), "fingerprint": finding.fingerprint},
        )
    audit.extend(resolved_and_more)
    if audit:
        db.table("audit_log").insert_all(audit)
    db.execute(
        "UPDATE runs SET policies_evaluated = ?, incomplete_parts = ?, findings_seen = ?, "
        "findings_opened = ?, findings_reopened = ?, findings_resolved = ? WHERE id = ?",
        [
            encode_json(policies, what="policies evaluated"),
            encode_json(incomplete_parts, what="incomplete parts"),
            len(findings),
            len(changes.opened),
            len(changes.reopened),
            len(changes.resolved),
            run_id,
        ],
    )
    return [after[finding.key] for finding in findings] + [
        after[stored.key] for stored in changes.resolved
    ]
