"""The governor's memory: runs, the resources they saw, findings over time, and an audit log.

Every method that writes does so inside one ``db.atomic()`` block, so a crash or an error
leaves either all of that step or none of it. The block runs in a ``BEGIN IMMEDIATE``
transaction: it takes the write lock before its first read, so another process writing
meanwhile makes it wait (up to the busy timeout) instead of failing halfway. A run that
never reached ``finish_run`` keeps ``finished_at`` NULL, which is how a later reader tells
it died. Use one ``Store`` from one thread (sqlite3 connections are per thread); other
processes may read and write the same file at the same time (WAL plus a busy timeout).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlite_utils import Database

from governor.findings import Finding
from governor.inventory import Snapshot
from governor.store.connection import StoreError, applied_migrations, open_database
from governor.store.coverage import Coverage
from governor.store.encoding import EncodingError, encode_json, encode_time
from governor.store.findings_writer import write_findings
from governor.store.reconcile import FindingInputError
from governor.store.records import (
    FINDING_STATUSES,
    AuditEntry,
    FindingStatus,
    RunRecord,
    StoredFinding,
    StoredResource,
    StoredResourceType,
)
from governor.store.resource_rows import RESOURCE_COLUMNS, resource_rows

DEFAULT_ACTOR = "governor"
_SEVERITY_RANK_SQL = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"


class Store:
    """Open with ``Store.open(path)``; ``Store.open(":memory:")`` for tests."""

    def __init__(self, db: Database, where: str) -> None:
        self._db = db
        self._where = where

    @classmethod
    def open(
        cls, path: str | Path, *, busy_timeout_seconds: float = 5.0, read_only: bool = False
    ) -> Store:
        """Open (creating and migrating as needed); ``read_only`` for commands that only report."""
        db = open_database(path, busy_timeout_seconds=busy_timeout_seconds, read_only=read_only)
        return cls(db, str(path))

    @property
    def db(self) -> Database:
        """The sqlite-utils database, for store modules added later (remediations, outbox)."""
        return self._db

    def migrations_applied(self) -> list[str]:
        return applied_migrations(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # Runs -------------------------------------------------------------------------------

    def start_run(self, trigger: str, started_at: datetime, *, actor: str = DEFAULT_ACTOR) -> int:
        if not trigger:
            raise StoreError("start_run: trigger must be a non-empty string")
        at = self._time(started_at, "start_run: started_at")
        with self._write():
            cursor = self._db.execute(
                "INSERT INTO runs (trigger, started_at) VALUES (?, ?)", [trigger, at]
            )
            run_id = cursor.lastrowid
            if run_id is None:  # pragma: no cover - sqlite3 always sets it after an INSERT
                raise StoreError("start_run: the database returned no run id")
            self._append_audit(
                at,
                run_id,
                actor=actor,
                event="run.started",
                subject=f"run:{run_id}",
                details={"trigger": trigger},
            )
        return run_id

    def record_snapshot(self, run_id: int, snapshot: Snapshot, seen_at: datetime) -> None:
        """Keep the latest view of every object seen; mark gone what a covering sweep missed."""
        at = self._time(seen_at, "record_snapshot: seen_at")
        try:
            rows = [(*row, at, at, run_id) for row in resource_rows(snapshot)]
            incomplete = encode_json(
                [part.as_dict() for part in snapshot.incomplete], what="incomplete parts"
            )
        except EncodingError as error:
            raise StoreError(f"record_snapshot: {error}") from error
        columns = ", ".join((*RESOURCE_COLUMNS, "first_seen", "last_seen", "last_run_id"))
        placeholders = ", ".join("?" * (len(RESOURCE_COLUMNS) + 3))
        refreshed = ", ".join(
            f"{column} = excluded.{column}"
            for column in (*RESOURCE_COLUMNS[2:], "last_seen", "last_run_id")
        )
        with self._write():
            self._require_unfinished_run(run_id, "record_snapshot")
            # Raw SQL: first_seen must be written on insert only, which upsert() cannot say.
            self._db.conn.executemany(
                f"INSERT INTO resources ({columns}) VALUES ({placeholders}) "
                f"ON CONFLICT (resource_type, resource_id) DO UPDATE SET {refreshed}, "
                "gone_at = NULL",
                rows,
            )
            self._mark_gone(run_id, snapshot, at)
            self._db.execute(
                "UPDATE runs SET incomplete_parts = ? WHERE id = ?", [incomplete, run_id]
            )

    def record_findings(
        self,
        run_id: int,
        findings: Sequence[Finding],
        snapshot: Snapshot,
        policies_evaluated: Sequence[str],
        now: datetime,
        *,
        actor: str = DEFAULT_ACTOR,
    ) -> list[StoredFinding]:
        """Open, refresh, reopen and resolve findings (rules: governor/store/reconcile.py).

        Returns this run's findings as stored, in the order given, then the findings this
        run resolved.
        """
        at = self._time(now, "record_findings: now")
        try:
            with self._write():
                self._require_unfinished_run(run_id, "record_findings")
                return write_findings(
                    self._db,
                    run_id=run_id,
                    findings=findings,
                    coverage=Coverage(snapshot),
                    incomplete_parts=[part.as_dict() for part in snapshot.incomplete],
                    policies_evaluated=policies_evaluated,
                    at=at,
                    actor=actor,
                )
        except (FindingInputError, EncodingError) as error:
            raise StoreError(f"record_findings: {error}") from error

    def finish_run(
        self,
        run_id: int,
        *,
        finished_at: datetime,
        complete: bool,
        requests: int,
        errors: list[dict[str, Any]],
        actor: str = DEFAULT_ACTOR,
    ) -> RunRecord:
        at = self._time(finished_at, "finish_run: finished_at")
        if requests < 0:
            raise StoreError(f"finish_run: requests must be >= 0, got {requests}")
        try:
            errors_json = encode_json(errors, what="finish_run: errors")
        except EncodingError as error:
            raise StoreError(str(error)) from error
        with self._write():
            self._require_unfinished_run(run_id, "finish_run")
            self._db.execute(
                "UPDATE runs SET finished_at = ?, complete = ?, requests = ?, errors = ? "
                "WHERE id = ?",
                [at, int(complete), requests, errors_json, run_id],
            )
            record = self.run(run_id)
            details = {
                "complete": complete,
                "requests": requests,
                "errors": len(errors),
                "findings_seen": record.findings_seen,
                "findings_opened": record.findings_opened,
                "findings_reopened": record.findings_reopened,
                "findings_resolved": record.findings_resolved,
            }
            self._append_audit(
                at,
                run_id,
                actor=actor,
                event="run.finished",
                subject=f"run:{run_id}",
                details=details,
            )
        return record

    def run(self, run_id: int) -> RunRecord:
        rows = list(self._db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
        if not rows:
            raise StoreError(f"{self._where}: no run with id {run_id}")
        return RunRecord.from_row(rows[0])

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first."""
        rows = self._db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit])
        return [RunRecord.from_row(row) for row in rows]

    # Findings ---------------------------------------------------------------------------

    def findings(
        self, status: str | None = "open", policy: str | None = None
    ) -> list[StoredFinding]:
        """Findings by severity (high first), then policy and resource; ``None`` = any."""
        if status is not None and status not in FINDING_STATUSES:
            raise StoreError(
                f"unknown finding status {status!r}; use one of {sorted(FINDING_STATUSES)}"
            )
        clauses, params = [], []
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
        return [StoredFinding.from_row(row) for row in self._db.query(sql, params)]

    def finding(self, finding_id: int) -> StoredFinding:
        rows = list(self._db.query("SELECT * FROM findings WHERE id = ?", [finding_id]))
        if not rows:
            raise StoreError(f"{self._where}: no finding with id {finding_id}")
        return StoredFinding.from_row(rows[0])

    def suppress(self, finding_id: int, *, actor: str, reason: str, now: datetime) -> StoredFinding:
        """A person says: do not report or act on this one; re-runs keep it suppressed."""
        return self._set_status(
            finding_id,
            "suppressed",
            event="finding.suppressed",
            actor=actor,
            reason=reason,
            now=now,
        )

    def unsuppress(
        self, finding_id: int, *, actor: str, reason: str, now: datetime
    ) -> StoredFinding:
        """Back to open; the next run resolves it if it no longer matches."""
        return self._set_status(
            finding_id, "open", event="finding.unsuppressed", actor=actor, reason=reason, now=now
        )

    # Resources and the audit log --------------------------------------------------------

    def resources(
        self, resource_type: StoredResourceType | None = None, *, include_gone: bool = False
    ) -> list[StoredResource]:
        clauses, params = [], []
        if resource_type is not None:
            clauses.append("resource_type = ?")
            params.append(resource_type)
        if not include_gone:
            clauses.append("gone_at IS NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM resources {where} ORDER BY resource_type, resource_id"
        return [StoredResource.from_row(row) for row in self._db.query(sql, params)]

    def audit(
        self,
        event: str,
        subject: str,
        details: dict[str, Any],
        *,
        actor: str,
        run_id: int | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append one entry (never changed or removed afterwards); returns its id."""
        if not event or not subject or not actor:
            raise StoreError("audit: event, subject and actor must be non-empty")
        moment = self._time(at or datetime.now(UTC), "audit: at")
        with self._write():
            return self._append_audit(
                moment, run_id, actor=actor, event=event, subject=subject, details=details
            )

    def audit_log(
        self, *, run_id: int | None = None, subject: str | None = None
    ) -> list[AuditEntry]:
        """Entries in the order they were written."""
        clauses: list[str] = []
        params: list[Any] = []
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(run_id)
        if subject is not None:
            clauses.append("subject = ?")
            params.append(subject)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.query(f"SELECT * FROM audit_log {where} ORDER BY id", params)
        return [AuditEntry.from_row(row) for row in rows]

    # Internals --------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One atomic write step; nested inside a caller's transaction when one is open."""
        if self._db.conn.in_transaction:
            with self._db.atomic():
                yield
            return
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise StoreError(
                f"{self._where}: cannot start writing ({error}); another process holds the "
                "write lock longer than the busy timeout"
            ) from error
        try:
            with self._db.atomic():
                yield
        except BaseException:
            self._db.rollback()
            raise
        self._db.commit()

    @staticmethod
    def _time(moment: datetime, what: str) -> str:
        try:
            return encode_time(moment, what=what)
        except EncodingError as error:
            raise StoreError(str(error)) from error

    def _require_unfinished_run(self, run_id: int, operation: str) -> None:
        rows = list(self._db.query("SELECT finished_at FROM runs WHERE id = ?", [run_id]))
        if not rows:
            raise StoreError(f"{operation}: no run with id {run_id}")
        if rows[0]["finished_at"] is not None:
            raise StoreError(f"{operation}: run {run_id} already finished")

    def _append_audit(
        self,
        at: str,
        run_id: int | None,
        *,
        actor: str,
        event: str,
        subject: str,
        details: dict[str, Any],
    ) -> int:
        try:
            details_json = encode_json(details, what=f"audit {event} {subject}: details")
        except EncodingError as error:
            raise StoreError(str(error)) from error
        cursor = self._db.execute(
            "INSERT INTO audit_log (at, run_id, actor, event, subject, details) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [at, run_id, actor, event, subject, details_json],
        )
        return int(cursor.lastrowid or 0)

    def _mark_gone(self, run_id: int, snapshot: Snapshot, at: str) -> None:
        coverage = Coverage(snapshot)
        candidates = self._db.query(
            "SELECT resource_type, resource_id, org_id, project_id FROM resources "
            "WHERE gone_at IS NULL AND last_run_id != ? AND resource_type != 'organization'",
            [run_id],
        )
        gone = [
            (at, row["resource_type"], row["resource_id"])
            for row in candidates
            if coverage.covers(row["resource_type"], row["org_id"], row["project_id"])
        ]
        self._db.conn.executemany(
            "UPDATE resources SET gone_at = ? WHERE resource_type = ? AND resource_id = ?", gone
        )

    def _set_status(
        self,
        finding_id: int,
        status: FindingStatus,
        *,
        event: str,
        actor: str,
        reason: str,
        now: datetime,
    ) -> StoredFinding:
        at = self._time(now, f"{event}: now")
        with self._write():
            current = self.finding(finding_id)
            if current.status == status:
                return current
            if status == "open" and current.status != "suppressed":
                raise StoreError(f"finding {finding_id} is {current.status}, not suppressed")
            self._db.execute(
                "UPDATE findings SET status = ?, status_changed_at = ?, resolved_at = NULL, "
                "resolved_run_id = NULL WHERE id = ?",
                [status, at, finding_id],
            )
            details = {"reason": reason, "previous_status": current.status}
            self._append_audit(
                at, None, actor=actor, event=event, subject=f"finding:{finding_id}", details=details
            )
            return self.finding(finding_id)
