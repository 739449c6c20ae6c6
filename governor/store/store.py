"""The governor's memory: runs, the resources they saw, findings over time, and an audit log.

Two tiers: ``Store`` owns the one connection, the one thread it lives on and the one error
guard; each table is written by one module (history for runs and findings, resources,
audit_log, remediations, exemptions, slack, saved_plans, jobs), so a table's rules
(compare-and-set in the ``WHERE``, its audit entry) live in one place. Those modules are
the API: ``await store.run(table_function, ...)`` from async code, ``store.call(...)``
from sync code (commands, tests); both run it on the store's thread with the guard.

Why one thread: writing a large snapshot takes seconds of Python and SQLite time; on the
event loop it would stall every timer, request and watchdog ping meanwhile. Calls queue up
on that thread in the order they were made, and nothing else can touch the connection
(sqlite3 refuses other threads). Arguments are handed over as they are: do not change a
snapshot or a findings list until the call returns. Cancelling an awaiting caller cancels
its call if the thread has not taken it up yet; a call already started completes (or
rolls back) there.

Each write is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock before its
first read, so a concurrent writer makes it wait (up to the busy timeout) rather than fail
halfway, and an error leaves all of the step or none. sqlite3 errors leave as one-line
``StoreError``s naming the file; other processes may share the file.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Concatenate, ParamSpec, Self, TypeVar

from governor.store.connection import open_connection
from governor.store.encoding import EncodingError
from governor.store.errors import NotFound, StoreError, database_error, one_line, where_of
from governor.store.finding_rules import FindingInputError

P = ParamSpec("P")
R = TypeVar("R")
THREAD_NAME_PREFIX = "governor-store"


class Store:
    """``Store.open(path)`` from sync code (``":memory:"`` for tests), ``await
    Store.open_async(path)`` from async code; close with ``with`` / ``async with``."""

    def __init__(
        self,
        executor: ThreadPoolExecutor,
        connection: sqlite3.Connection,
        where: str,
        timeout: float,
        ro: bool,
    ) -> None:
        """Use ``open``/``open_async``; ``timeout``: the busy timeout, ``ro``: read-only."""
        self._executor, self._connection, self._where = executor, connection, where
        self._busy_timeout_seconds, self._read_only = timeout, ro
        self._closed = False

    @classmethod
    def open(
        cls, path: str | Path, *, busy_timeout_seconds: float = 5.0, read_only: bool = False
    ) -> Store:
        """Open (creating and migrating as needed); ``read_only`` for commands that only report.

        Blocks until the file is open: for sync callers."""
        executor, opening = cls._start_opening(path, busy_timeout_seconds, read_only)
        try:
            connection = opening.result()
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, connection, where_of(path), busy_timeout_seconds, read_only)

    @classmethod
    async def open_async(
        cls, path: str | Path, *, busy_timeout_seconds: float = 5.0, read_only: bool = False
    ) -> Store:
        """``open`` for async callers: the loop keeps running while the file opens."""
        executor, opening = cls._start_opening(path, busy_timeout_seconds, read_only)
        try:
            connection = await asyncio.wrap_future(opening)
        except BaseException:
            executor.submit(_close_if_opened, opening)  # runs after the open, on its thread
            executor.shutdown(wait=False)
            raise
        return cls(executor, connection, where_of(path), busy_timeout_seconds, read_only)

    @staticmethod
    def _start_opening(
        path: str | Path, busy_timeout_seconds: float, read_only: bool
    ) -> tuple[ThreadPoolExecutor, Future[sqlite3.Connection]]:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=THREAD_NAME_PREFIX)
        opening = executor.submit(
            open_connection, path, busy_timeout_seconds=busy_timeout_seconds, read_only=read_only
        )
        return executor, opening

    def call(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run a table function on the store's thread and wait for it (sync code only: it
        blocks): ``store.call(remediations.move, record_id, expected=..., to=..., now=...)``."""
        return self._submit(work, *args, **kwargs).result()

    async def run(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """``call`` for async code, never blocking the loop: ``await store.run(fn, ...)``."""
        return await asyncio.wrap_future(self._submit(work, *args, **kwargs))

    def _submit(
        self,
        work: Callable[Concatenate[sqlite3.Connection, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Future[R]:
        if self._closed:
            raise StoreError(f"{self._where}: the store is closed")
        return self._executor.submit(self._guarded, functools.partial(work, **kwargs), *args)

    def _guarded(self, work: Callable[..., R], *args: object) -> R:
        with self._guard(getattr(work, "func", work).__name__):
            return work(self._connection, *args)

    @contextmanager
    def _guard(self, name: str) -> Iterator[None]:
        """The one error guard: sqlite3 and encoding errors leave as one-line StoreErrors."""
        try:
            yield
        except NotFound as error:
            raise NotFound(f"{self._where}: {error}") from error
        except sqlite3.Error as error:
            timeout, read_only = self._busy_timeout_seconds, self._read_only
            raise database_error(
                self._where, error, busy_timeout_seconds=timeout, read_only=read_only
            ) from error
        except (EncodingError, FindingInputError) as error:
            raise StoreError(one_line(f"{name}: {error}")) from error

    def close(self) -> None:
        """Close the connection on its thread (after any call still queued), then the thread."""
        if self._closed:
            return
        self._closed = True
        try:
            self._executor.submit(self._connection.close).result()
        finally:
            self._executor.shutdown(wait=False)

    async def aclose(self) -> None:
        """``close`` for async code; a cancelled caller still gets the store closed."""
        if self._closed:
            return
        self._closed = True
        try:
            closing = self._executor.submit(self._connection.close)
            await asyncio.shield(asyncio.wrap_future(closing))
        finally:
            self._executor.shutdown(wait=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _close_if_opened(opening: Future[sqlite3.Connection]) -> None:
    """After an open whose caller went away (cancelled): close what it opened."""
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()
