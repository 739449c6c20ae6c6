"""The runs, findings and their audit entries: the table-level API for recording a run.

Call through the store: ``store.call(history.start_run, "cli", now)`` or
``await store.run(history.record_findings, ...)``. Each write encodes its own times and is
one write step (``BEGIN IMMEDIATE``) holding its change together with its audit entries,
calling only the modules that own the tables (runs, resources, findings_writer,
audit_log), so the step commits or rolls back whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from governor.model.findings import Finding
from governor.model.snapshot import Snapshot
from governor.store import audit_log, finding_queries, resources, runs
from governor.store.audit_log import DEFAULT_ACTOR, NewEntry
from governor.store.connection import write
from governor.store.coverage import Coverage
from governor.store.encoding import encode_json, encode_time
from governor.store.errors import StoreError, one_line
from governor.store.findings_writer import (
    resolve_unseen,
    set_status,
    write_batch,
    write_findings,
)
from governor.store.records import FindingStatus, RunRecord, StoredFinding


def _log_run(
    connection: sqlite3.Connection, *, at: str, run_id: int, actor: str, event: str, **details: Any
) -> None:
    audit_log.append(connection, NewEntry(at, run_id, actor, event, f"run:{run_id}", details))


# Runs -------------------------------------------------------------------------------------


def start_run(
    connection: sqlite3.Connection,
    trigger: str,
    started_at: datetime,
    *,
    actor: str = DEFAULT_ACTOR,
) -> int:
    if not trigger:
        raise StoreError("start_run: trigger must be a non-empty string")
    at = encode_time(started_at, what="started_at")
    with write(connection):
        run_id = runs.start(connection, trigger, at)
        _log_run(
            connection, at=at, run_id=run_id, actor=actor, event="run.started", trigger=trigger
        )
        return run_id


def record_snapshot(
    connection: sqlite3.Connection, run_id: int, snapshot: Snapshot, seen_at: datetime
) -> None:
    """Keep the latest view of every object seen; mark gone what a covering sweep missed."""
    at = encode_time(seen_at, what="seen_at")
    encoded = resources.encoded_rows(snapshot, run_id, at)  # encoded as written
    parts = encode_json([part.as_dict() for part in snapshot.incomplete], what="incomplete")
    with write(connection):
        runs.require_running(connection, run_id, "record_snapshot")
        resources.upsert(connection, encoded, snapshot, run_id=run_id, at=at)
        runs.set_incomplete_parts(connection, run_id, parts)


def record_findings(  # noqa: PLR0917 - the order its callers have always used
    connection: sqlite3.Connection,
    run_id: int,
    findings: Sequence[Finding],
    snapshot: Snapshot,
    policies_evaluated: Sequence[str],
    now: datetime,
    *,
    actor: str = DEFAULT_ACTOR,
    owners: Mapping[tuple[str, str, str], tuple[str | None, str | None]] | None = None,
) -> list[StoredFinding]:
    """Open, refresh, reopen and resolve findings (rules: governor/store/finding_rules.py).

    Returns this run's findings as stored, in the order given, then the findings this
    run resolved. ``owners``: each finding's (owned_by, owned_by_rule) by key.
    """
    at = encode_time(now, what="now")
    with write(connection):
        runs.require_running(connection, run_id, "record_findings")
        written = write_findings(
            connection,
            run_id=run_id,
            findings=findings,
            coverage=Coverage(snapshot),
            policies_evaluated=policies_evaluated,
            at=at,
            actor=actor,
            owners=owners,
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


@dataclass
class BatchRecorded:
    """One streamed batch as stored: its findings (as ``record_findings`` returns them)."""

    stored: list[StoredFinding]
    opened: int
    reopened: int


def record_batch(  # noqa: PLR0917 - the order record_findings has
    connection: sqlite3.Connection,
    run_id: int,
    snapshot: Snapshot,
    findings: Sequence[Finding],
    policies_evaluated: Sequence[str],
    now: datetime,
    *,
    actor: str = DEFAULT_ACTOR,
    owners: Mapping[tuple[str, str, str], tuple[str | None, str | None]] | None = None,
) -> BatchRecorded:
    """A streamed run's batch (``governor.pipeline.stream``): its objects upserted and its
    findings opened, refreshed or reopened, in one write step. Nothing is marked gone or
    resolved: ``finish_batches`` does both once every batch is in."""
    at = encode_time(now, what="now")
    encoded = resources.encoded_rows(snapshot, run_id, at)
    with write(connection):
        runs.require_running(connection, run_id, "record_batch")
        resources.upsert_rows(connection, encoded)
        written = write_batch(
            connection,
            run_id=run_id,
            findings=findings,
            policies_evaluated=policies_evaluated,
            at=at,
            actor=actor,
            owners=owners,
        )
        audit_log.append_encoded(connection, written.audit)
        return BatchRecorded(written.stored, written.opened, written.reopened)


def finish_batches(
    connection: sqlite3.Connection,
    run_id: int,
    coverage: Snapshot,
    policies_evaluated: Sequence[str],
    now: datetime,
    *,
    seen: int,
    opened: int,
    reopened: int,
    actor: str = DEFAULT_ACTOR,
) -> list[StoredFinding]:
    """After a streamed run's last batch, in one write step: mark gone what a covering
    sweep missed, resolve the open findings it did not see where it looked (``coverage``:
    a snapshot of the organizations, projects, keys and unread parts), and the run's
    findings summary over all its batches. Returns the findings resolved."""
    at = encode_time(now, what="now")
    parts = encode_json([part.as_dict() for part in coverage.incomplete], what="incomplete")
    covered = Coverage(coverage)
    with write(connection):
        runs.require_running(connection, run_id, "finish_batches")
        resources.mark_gone(connection, covered, run_id=run_id, at=at)
        runs.set_incomplete_parts(connection, run_id, parts)
        written = resolve_unseen(
            connection,
            run_id=run_id,
            coverage=covered,
            policies_evaluated=policies_evaluated,
            at=at,
            actor=actor,
        )
        audit_log.append_encoded(connection, written.audit)
        runs.set_findings_summary(
            connection,
            run_id,
            policies=sorted(set(policies_evaluated)),
            seen=seen,
            opened=opened,
            reopened=reopened,
            resolved=written.resolved,
        )
        return written.stored


def finish_run(
    connection: sqlite3.Connection,
    run_id: int,
    *,
    finished_at: datetime,
    complete: bool,
    requests: int,
    errors: list[dict[str, Any]],
    actor: str = DEFAULT_ACTOR,
) -> RunRecord:
    """The run ended normally; ``errors``: the parts the sweep could not read, as dicts."""
    at = encode_time(finished_at, what="finished_at")
    if requests < 0:
        raise StoreError(f"finish_run: requests must be >= 0, got {requests}")
    parts = encode_json(errors, what="errors")
    with write(connection):
        runs.finish(
            connection, run_id, at=at, complete=complete, requests=requests, parts_json=parts
        )
        record = runs.get(connection, run_id)
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
    finished_at: datetime,
    reason: str,
    actor: str = DEFAULT_ACTOR,
    status: Literal["failed", "cancelled"] = "failed",
) -> RunRecord:
    """Mark a running run failed, or ``cancelled`` (a stop abandoned it while reading).

    A run that already ended (finished, failed, abandoned) is returned unchanged, so a
    ``finally`` may call this whatever happened before it.
    """
    at = encode_time(finished_at, what="finished_at")
    reason = one_line(reason) or "no reason given"
    with write(connection):
        if runs.fail(connection, run_id, at=at, reason=reason, status=status):
            event = f"run.{status}"
            _log_run(connection, at=at, run_id=run_id, actor=actor, event=event, reason=reason)
        return runs.get(connection, run_id)


def abandon_unfinished_runs(
    connection: sqlite3.Connection,
    *,
    now: datetime,
    reason: str,
    started_before: datetime | None = None,
    actor: str = DEFAULT_ACTOR,
) -> list[int]:
    """Runs a crash left ``running``: now ``abandoned``; returns their ids, oldest first.

    For the daemon at start. ``started_before`` (default ``now``) spares runs another
    process may have started since, such as a one-shot audit running right now.
    """
    at = encode_time(now, what="now")
    before = at if started_before is None else encode_time(started_before, what="started_before")
    reason = one_line(reason) or "no reason given"
    with write(connection):
        run_ids = runs.abandon_running(connection, at=at, reason=reason, started_before=before)
        for run_id in run_ids:
            _log_run(
                connection, at=at, run_id=run_id, actor=actor, event="run.abandoned", reason=reason
            )
        return run_ids


def run_record(connection: sqlite3.Connection, run_id: int) -> RunRecord:
    return runs.get(connection, run_id)


def latest_runs(connection: sqlite3.Connection, limit: int = 20) -> list[RunRecord]:
    """The latest runs, newest first."""
    return runs.latest(connection, limit)


# Findings ---------------------------------------------------------------------------------


def findings(
    connection: sqlite3.Connection, status: str | None = "open", policy: str | None = None
) -> list[StoredFinding]:
    """Findings by severity (high first), then policy and resource; ``None`` = any."""
    return finding_queries.listed(connection, status, policy)


def finding(connection: sqlite3.Connection, finding_id: int) -> StoredFinding:
    return finding_queries.get(connection, finding_id)


def suppress(
    connection: sqlite3.Connection, finding_id: int, *, actor: str, reason: str, now: datetime
) -> StoredFinding:
    """A person says: do not report or act on this one; re-runs keep it suppressed."""
    return _set_status(connection, finding_id, "suppressed", actor=actor, reason=reason, now=now)


def unsuppress(
    connection: sqlite3.Connection, finding_id: int, *, actor: str, reason: str, now: datetime
) -> StoredFinding:
    """Back to open; the next run resolves it if it no longer matches."""
    return _set_status(connection, finding_id, "open", actor=actor, reason=reason, now=now)


def _set_status(
    connection: sqlite3.Connection,
    finding_id: int,
    status: FindingStatus,
    *,
    actor: str,
    reason: str,
    now: datetime,
) -> StoredFinding:
    at = encode_time(now, what="now")
    with write(connection):
        before, after = set_status(connection, finding_id, status, at=at)
        if before is not after:
            event = "finding.suppressed" if status == "suppressed" else "finding.unsuppressed"
            details = {"reason": reason, "previous_status": before.status}
            audit_log.append(
                connection, NewEntry(at, None, actor, event, f"finding:{finding_id}", details)
            )
        return after
