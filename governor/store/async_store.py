"""The store for async code: ``await store.run(table_function, ...)``, on the store's own thread.

Why: writing a large snapshot takes seconds of Python and SQLite time; on the event loop
it would stall every timer, request and watchdog ping meanwhile. ``AsyncStore`` owns ONE
thread, where the connection is created and used: calls queue up in the order they were
made, and nothing else can touch the connection (sqlite3 refuses other threads).

Arguments are handed to that thread as they are: do not change a snapshot or a findings
list until the call returns. Cancelling a caller cancels its call if the store thread has
not taken it up yet; a call already started completes (or rolls back) there.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, Literal, ParamSpec, Self, TypeVar

from governor.findings import Finding
from governor.inventory import Snapshot
from governor.store.audit_log import DEFAULT_ACTOR
from governor.store.errors import StoreError, where_of
from governor.store.records import (
    AuditEntry,
    RunRecord,
    StoredFinding,
)
from governor.store.store import Store

P = ParamSpec("P")
R = TypeVar("R")
THREAD_NAME_PREFIX = "governor-store"


class AsyncStore:
    """Open with ``await AsyncStore.open(path)``; use as ``async with``."""

    def __init__(self, executor: ThreadPoolExecutor, store: Store, where: str) -> None:
        self._executor = executor
        self._store = store
        self._where = where
        self._closed = False

    @classmethod
    async def open(
        cls, path: str | Path, *, busy_timeout_seconds: float = 5.0, read_only: bool = False
    ) -> AsyncStore:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME_PREFIX)
        opening = executor.submit(
            Store.open, path, busy_timeout_seconds=busy_timeout_seconds, read_only=read_only
        )
        try:
            store = await asyncio.wrap_future(opening)
        except BaseException:
            executor.submit(_close_if_opened, opening)  # runs after the open, on its thread
            executor.shutdown(wait=False)
            raise
        return cls(executor, store, where_of(path))

    async def aclose(self) -> None:
        """Close the connection on its thread (after any call still queued), then the thread."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.shield(asyncio.wrap_future(self._executor.submit(self._store.close)))
        finally:
            self._executor.shutdown(wait=False)

    async def close(self) -> None:
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _call(
        self, method: Callable[Concatenate[Store, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        if self._closed:
            raise StoreError(f"{self._where}: the store is closed")
        call = functools.partial(method, self._store, *args, **kwargs)
        return await asyncio.wrap_future(self._executor.submit(call))

    async def run(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """``Store.call`` on the store's thread: ``await store.run(slack.enqueue, ...)``."""
        if self._closed:
            raise StoreError(f"{self._where}: the store is closed")
        call = functools.partial(self._store.call, work, *args, **kwargs)
        return await asyncio.wrap_future(self._executor.submit(call))

    # The Store's methods, awaited (documented there) ------------------------------------

    async def migrations_applied(self) -> list[str]:
        return await self._call(Store.migrations_applied)

    async def start_run(
        self, trigger: str, started_at: datetime, *, actor: str = DEFAULT_ACTOR
    ) -> int:
        return await self._call(Store.start_run, trigger, started_at, actor=actor)

    async def record_snapshot(self, run_id: int, snapshot: Snapshot, seen_at: datetime) -> None:
        await self._call(Store.record_snapshot, run_id, snapshot, seen_at)

    async def record_findings(
        self,
        run_id: int,
        findings: Sequence[Finding],
        snapshot: Snapshot,
        policies_evaluated: Sequence[str],
        now: datetime,
        *,
        actor: str = DEFAULT_ACTOR,
    ) -> list[StoredFinding]:
        return await self._call(
            Store.record_findings, run_id, findings, snapshot, policies_evaluated, now, actor=actor
        )

    async def finish_run(
        self,
        run_id: int,
        *,
        finished_at: datetime,
        complete: bool,
        requests: int,
        errors: list[dict[str, Any]],
        actor: str = DEFAULT_ACTOR,
    ) -> RunRecord:
        return await self._call(
            Store.finish_run,
            run_id,
            finished_at=finished_at,
            complete=complete,
            requests=requests,
            errors=errors,
            actor=actor,
        )

    async def fail_run(
        self,
        run_id: int,
        *,
        finished_at: datetime,
        reason: str,
        actor: str = DEFAULT_ACTOR,
        status: Literal["failed", "cancelled"] = "failed",
    ) -> RunRecord:
        return await self._call(
            Store.fail_run,
            run_id,
            finished_at=finished_at,
            reason=reason,
            actor=actor,
            status=status,
        )

    async def abandon_unfinished_runs(
        self,
        *,
        now: datetime,
        reason: str,
        started_before: datetime | None = None,
        actor: str = DEFAULT_ACTOR,
    ) -> list[int]:
        return await self._call(
            Store.abandon_unfinished_runs,
            now=now,
            reason=reason,
            started_before=started_before,
            actor=actor,
        )

    async def run_record(self, run_id: int) -> RunRecord:
        return await self._call(Store.run_record, run_id)

    async def runs(self, limit: int = 20) -> list[RunRecord]:
        return await self._call(Store.runs, limit)

    async def findings(
        self, status: str | None = "open", policy: str | None = None
    ) -> list[StoredFinding]:
        return await self._call(Store.findings, status, policy)

    async def finding(self, finding_id: int) -> StoredFinding:
        return await self._call(Store.finding, finding_id)

    async def suppress(
        self, finding_id: int, *, actor: str, reason: str, now: datetime
    ) -> StoredFinding:
        return await self._call(Store.suppress, finding_id, actor=actor, reason=reason, now=now)

    async def unsuppress(
        self, finding_id: int, *, actor: str, reason: str, now: datetime
    ) -> StoredFinding:
        return await self._call(Store.unsuppress, finding_id, actor=actor, reason=reason, now=now)

    async def audit(
        self,
        event: str,
        subject: str,
        details: dict[str, Any],
        *,
        actor: str,
        run_id: int | None = None,
        at: datetime | None = None,
    ) -> int:
        return await self._call(
            Store.audit, event, subject, details, actor=actor, run_id=run_id, at=at
        )

    async def audit_log(
        self, *, run_id: int | None = None, subject: str | None = None
    ) -> list[AuditEntry]:
        return await self._call(Store.audit_log, run_id=run_id, subject=subject)


def _close_if_opened(opening: Future[Store]) -> None:
    """After an open whose caller went away (cancelled): close what it opened."""
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()
