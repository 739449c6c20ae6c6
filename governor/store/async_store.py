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
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Concatenate, ParamSpec, Self, TypeVar

from governor.store.errors import StoreError, where_of
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


def _close_if_opened(opening: Future[Store]) -> None:
    """After an open whose caller went away (cancelled): close what it opened."""
    if not opening.cancelled() and opening.exception() is None:
        opening.result().close()
