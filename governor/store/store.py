"""The governor's memory: runs, the resources they saw, findings over time, and an audit log.

Two tiers: ``Store`` owns the one connection and the one error guard; each table is written
by one module (runs, resources, findings_writer, audit_log, remediations, exemptions,
slack, saved_plans, jobs), so a table's rules (compare-and-set in the ``WHERE``, its audit
entry) live in one place. Those modules are the API: ``store.call(table_function, ...)``
runs one on the connection with the guard; ``await async_store.run(...)`` runs it on the
store's own thread. The runs/findings/jobs methods below still wrap theirs (issue 15).

Each write is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock before
its first read, so a concurrent writer makes it wait (up to the busy timeout) rather than
fail halfway, and an error leaves all of the step or none. sqlite3 errors leave as one-line
``StoreError``s naming the file. Use a ``Store`` from the thread that opened it (sqlite3
checks; ``AsyncStore`` gives it a thread of its own); other processes may share the file.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, Self, TypeVar

from governor.findings import Finding
from governor.inventory import Snapshot
from governor.store import audit_log, finding_queries, resources, runs, steps
from governor.store.audit_log import DEFAULT_ACTOR, NewEntry
from governor.store.connection import applied_migrations, open_connection, write
from governor.store.encoding import EncodingError, encode_time
from governor.store.errors import StoreError, database_error, one_line, where_of
from governor.store.reconcile import FindingInputError
from governor.store.records import (
    AuditEntry,
    FindingStatus,
    RunRecord,
    StoredFinding,
)

P = ParamSpec("P")
R = TypeVar("R")


def _guarded(method: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
    """sqlite3 and encoding errors leave a public method as a one-line StoreError."""
    name = method.__name__

    @functools.wraps(method)
    def guarded(self: Store, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._guard(name):
            return method(self, *args, **kwargs)

    return guarded


class Store:
    """Open with ``Store.open(path)``; ``Store.open(":memory:")`` for tests."""

    def __init__(
        self, connection: sqlite3.Connection, where: str, timeout: float, ro: bool
    ) -> None:
        """Use ``Store.open``; ``timeout``: the busy timeout, ``ro``: opened read-only."""
        self._connection, self._where = connection, where
        self._busy_timeout_seconds, self._read_only = timeout, ro

    def call(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run a table function on this store's connection, with the store's error guard:
        ``store.call(remediations.move, record_id, expected=..., to=..., now=...)``. Use it
        from the store's thread (``AsyncStore.run`` does, for async code)."""
        with self._guard(work.__name__):
            return work(self._connection, *args, **kwargs)

    @contextmanager
    def _guard(self, name: str) -> Iterator[None]:
        """The one error guard: sqlite3 and encoding errors leave as one-line StoreErrors."""
        try:
            yield
        except sqlite3.Error as error:
            timeout, read_only = self._busy_timeout_seconds, self._read_only
            raise database_error(
                self._where, error, busy_timeout_seconds=timeout, read_only=read_only
            ) from error
        except (EncodingError, FindingInputError) as error:
            raise StoreError(one_line(f"{name}: {error}")) from error

    @classmethod
    def open(
        cls, path: str | Path, *, busy_timeout_seconds: float = 5.0, read_only: bool = False
    ) -> Store:
        """Open (creating and migrating as needed); ``read_only`` for commands that only report."""
        connection = open_connection(
            path, busy_timeout_seconds=busy_timeout_seconds, read_only=read_only
        )
        return cls(connection, where_of(path), busy_timeout_seconds, read_only)

    @_guarded
    def migrations_applied(self) -> list[str]:
        return applied_migrations(self._connection)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Runs -------------------------------------------------------------------------------

    @_guarded
    def start_run(self, trigger: str, started_at: datetime, *, actor: str = DEFAULT_ACTOR) -> int:
        if not trigger:
            raise StoreError("start_run: trigger must be a non-empty string")
        at = encode_time(started_at, what="started_at")
        with self._write() as connection:
            return steps.start_run(connection, trigger, at=at, actor=actor)

    @_guarded
    def record_snapshot(self, run_id: int, snapshot: Snapshot, seen_at: datetime) -> None:
        """Keep the latest view of every object seen; mark gone what a covering sweep missed."""
        at = encode_time(seen_at, what="seen_at")
        encoded = resources.encoded_rows(snapshot, run_id, at)  # encoded as written
        with self._write() as connection:
            steps.record_snapshot(connection, run_id, snapshot, encoded, at=at)

    @_guarded
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
        at = encode_time(now, what="now")
        with self._write() as connection:
            return steps.record_findings(
                connection, run_id, findings, snapshot, policies_evaluated, at=at, actor=actor
            )

    @_guarded
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
        """The run ended normally; ``errors``: the parts the sweep could not read, as dicts."""
        at = encode_time(finished_at, what="finished_at")
        if requests < 0:
            raise StoreError(f"finish_run: requests must be >= 0, got {requests}")
        with self._write() as connection:
            return steps.finish_run(
                connection,
                run_id,
                where=self._where,
                at=at,
                complete=complete,
                requests=requests,
                errors=errors,
                actor=actor,
            )

    @_guarded
    def fail_run(
        self,
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
        with self._write() as connection:
            return steps.fail_run(
                connection,
                run_id,
                where=self._where,
                at=at,
                reason=reason,
                actor=actor,
                status=status,
            )

    @_guarded
    def abandon_unfinished_runs(
        self,
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
        before = (
            at if started_before is None else encode_time(started_before, what="started_before")
        )
        reason = one_line(reason) or "no reason given"
        with self._write() as connection:
            return steps.abandon_runs(
                connection, at=at, reason=reason, started_before=before, actor=actor
            )

    @_guarded
    def run_record(self, run_id: int) -> RunRecord:
        return runs.get(self._connection, run_id, self._where)

    @_guarded
    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first."""
        return runs.latest(self._connection, limit)

    # Findings ---------------------------------------------------------------------------

    @_guarded
    def findings(
        self, status: str | None = "open", policy: str | None = None
    ) -> list[StoredFinding]:
        """Findings by severity (high first), then policy and resource; ``None`` = any."""
        return finding_queries.listed(self._connection, status, policy)

    @_guarded
    def finding(self, finding_id: int) -> StoredFinding:
        return finding_queries.get(self._connection, finding_id, self._where)

    @_guarded
    def suppress(self, finding_id: int, *, actor: str, reason: str, now: datetime) -> StoredFinding:
        """A person says: do not report or act on this one; re-runs keep it suppressed."""
        return self._set_status(finding_id, "suppressed", actor=actor, reason=reason, now=now)

    @_guarded
    def unsuppress(
        self, finding_id: int, *, actor: str, reason: str, now: datetime
    ) -> StoredFinding:
        """Back to open; the next run resolves it if it no longer matches."""
        return self._set_status(finding_id, "open", actor=actor, reason=reason, now=now)

    # Resources and the audit log ----------------------------------------

    @_guarded
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
        moment = encode_time(at or datetime.now(UTC), what="at")
        entry = NewEntry(moment, run_id, actor, event, subject, details)
        with self._write() as connection:
            return audit_log.append(connection, entry)

    @_guarded
    def audit_log(
        self, *, run_id: int | None = None, subject: str | None = None
    ) -> list[AuditEntry]:
        """Entries in the order they were written."""
        return audit_log.entries(self._connection, run_id=run_id, subject=subject)

    # Internals --------------------------------------------------------------------------

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One atomic write step, holding the write lock from its start."""
        return write(self._connection)

    def _set_status(
        self, finding_id: int, status: FindingStatus, *, actor: str, reason: str, now: datetime
    ) -> StoredFinding:
        at = encode_time(now, what="now")
        with self._write() as connection:
            return steps.set_finding_status(
                connection, finding_id, status, where=self._where, at=at, actor=actor, reason=reason
            )
