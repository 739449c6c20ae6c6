"""The write steps that span tables: each change together with its audit entries.

Each function runs inside the one write transaction ``Store`` opened, and calls only the
modules that own the tables (runs, resources, findings_writer, audit_log), so the step
commits or rolls back whole. Times arrive already encoded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from governor.findings import Finding
from governor.inventory import Snapshot
from governor.store import audit_log, resources, runs
from governor.store.audit_log import NewEntry
from governor.store.coverage import Coverage
from governor.store.encoding import encode_json
from governor.store.findings_writer import set_status, write_findings
from governor.store.records import FindingStatus, RunRecord, StoredFinding


def _log_run(
    connection: sqlite3.Connection, *, at: str, run_id: int, actor: str, event: str, **details: Any
) -> None:
    audit_log.append(connection, NewEntry(at, run_id, actor, event, f"run:{run_id}", details))


def start_run(connection: sqlite3.Connection, trigger: str, *, at: str, actor: str) -> int:
    run_id = runs.start(connection, trigger, at)
    _log_run(connection, at=at, run_id=run_id, actor=actor, event="run.started", trigger=trigger)
    return run_id


def record_snapshot(
    connection: sqlite3.Connection,
    run_id: int,
    snapshot: Snapshot,
    encoded: Iterable[tuple[Any, ...]],
    *,
    at: str,
) -> None:
    parts = encode_json([part.as_dict() for part in snapshot.incomplete], what="incomplete")
    runs.require_running(connection, run_id, "record_snapshot")
    resources.upsert(connection, encoded, snapshot, run_id=run_id, at=at)
    runs.set_incomplete_parts(connection, run_id, parts)


def record_findings(
    connection: sqlite3.Connection,
    run_id: int,
    findings: Sequence[Finding],
    snapshot: Snapshot,
    policies_evaluated: Sequence[str],
    *,
    at: str,
    actor: str,
) -> list[StoredFinding]:
    runs.require_running(connection, run_id, "record_findings")
    written = write_findings(
        connection,
        run_id=run_id,
        findings=findings,
        coverage=Coverage(snapshot),
        policies_evaluated=policies_evaluated,
        at=at,
        actor=actor,
    )
    audit_log.append_encoded(connection, written.audit)
    runs.set_findings_summary(
        connection,
        run_id,
        policies=sorted(set(policies_evaluated)),
        seen=len(findings),
        opened=written.opened,
        reopened=written.reopened,
        resolved=written.resolved,
    )
    return written.stored


def finish_run(
    connection: sqlite3.Connection,
    run_id: int,
    *,
    where: str,
    at: str,
    complete: bool,
    requests: int,
    errors: list[dict[str, Any]],
    actor: str,
) -> RunRecord:
    parts = encode_json(errors, what="errors")
    runs.finish(connection, run_id, at=at, complete=complete, requests=requests, parts_json=parts)
    record = runs.get(connection, run_id, where)
    _log_run(
        connection,
        at=at,
        run_id=run_id,
        actor=actor,
        event="run.finished",
        complete=complete,
        requests=requests,
        errors=len(errors),
        findings_seen=record.findings_seen,
        findings_opened=record.findings_opened,
        findings_reopened=record.findings_reopened,
        findings_resolved=record.findings_resolved,
    )
    return record


def fail_run(
    connection: sqlite3.Connection,
    run_id: int,
    *,
    where: str,
    at: str,
    reason: str,
    actor: str,
    status: Literal["failed", "cancelled"] = "failed",
) -> RunRecord:
    if runs.fail(connection, run_id, at=at, reason=reason, status=status):
        event = f"run.{status}"
        _log_run(connection, at=at, run_id=run_id, actor=actor, event=event, reason=reason)
    return runs.get(connection, run_id, where)


def abandon_runs(
    connection: sqlite3.Connection, *, at: str, reason: str, started_before: str, actor: str
) -> list[int]:
    run_ids = runs.abandon_running(connection, at=at, reason=reason, started_before=started_before)
    for run_id in run_ids:
        _log_run(
            connection, at=at, run_id=run_id, actor=actor, event="run.abandoned", reason=reason
        )
    return run_ids


def set_finding_status(
    connection: sqlite3.Connection,
    finding_id: int,
    status: FindingStatus,
    *,
    where: str,
    at: str,
    actor: str,
    reason: str,
) -> StoredFinding:
    before, after = set_status(connection, finding_id, status, where=where, at=at)
    if before is not after:
        event = "finding.suppressed" if status == "suppressed" else "finding.unsuppressed"
        details = {"reason": reason, "previous_status": before.status}
        audit_log.append(
            connection, NewEntry(at, None, actor, event, f"finding:{finding_id}", details)
        )
    return after
