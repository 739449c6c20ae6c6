"""Store.run: the table functions, awaited, on the store's own thread (the loop keeps running)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from governor.model.snapshot import Snapshot
from governor.store import Store, StoreError, audit_log, history
from governor.store import resources as resource_rows
from governor.store.connection import applied_migrations
from tests.store.factories import T0, at, finding, large_snapshot, second_connection, snapshot

pytestmark = pytest.mark.anyio
STALE = "stale-branches"


@pytest.fixture(scope="module")
def large() -> Snapshot:
    return large_snapshot(5_000)


@pytest.mark.parametrize("attempt", range(20))
async def test_the_event_loop_keeps_ticking_while_a_large_snapshot_is_written(
    tmp_path: Path, large: Snapshot, attempt: int
) -> None:
    """By construction, not by timing: the write cannot finish before the loop has ticked.

    A second connection holds the write lock, and only the ticker, a task on the event
    loop, lets it go. Were the write on the loop, the ticker could never run: the write
    would wait out the busy timeout and fail.
    """
    path = tmp_path / f"governor-{attempt}.db"
    ticks = 0
    async with await Store.open_async(path, busy_timeout_seconds=60) as store:
        run_id = await store.run(history.start_run, "audit", T0)
        with second_connection(path) as holder:
            holder.execute("BEGIN IMMEDIATE")

            async def ticker() -> None:
                nonlocal ticks
                while True:
                    await anyio.sleep(0.001)
                    ticks += 1
                    if ticks == 3:
                        holder.execute("ROLLBACK")

            async with anyio.create_task_group() as group:
                group.start_soon(ticker)
                at_submit = ticks
                await store.run(history.record_snapshot, run_id, large, T0)
                at_completion = ticks
                group.cancel_scope.cancel()
        assert len(await store.run(resource_rows.listed, "branch")) == 5_000
    assert at_submit == 0
    assert at_completion >= 3


async def test_results_equal_the_sync_stores(tmp_path: Path) -> None:
    swept = snapshot(projects=[("pr-1", "org-a")], branches=[("br-1", "pr-1"), ("br-2", "pr-1")])
    steps: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = [
        (history.start_run, ("audit", at(0)), {}),
        (history.record_snapshot, (1, swept, at(0)), {}),
        (
            history.record_findings,
            (1, [finding("br-1"), finding("br-2")], swept, [STALE], at(0)),
            {},
        ),
        (
            history.finish_run,
            (1,),
            {"finished_at": at(1), "complete": True, "requests": 3, "errors": []},
        ),
        (history.suppress, (1,), {"actor": "alice", "reason": "demo", "now": at(1)}),
        (audit_log.record, ("note", "finding:1", {"n": 1}), {"actor": "alice", "at": at(1)}),
        (history.start_run, ("daemon", at(2)), {}),
        (history.fail_run, (2,), {"finished_at": at(2), "reason": "boom"}),
        (history.start_run, ("daemon", at(3)), {}),
        (history.abandon_unfinished_runs, (), {"now": at(4), "reason": "restart"}),
        (history.unsuppress, (1,), {"actor": "alice", "reason": "over", "now": at(5)}),
        (history.run_record, (1,), {}),
        (history.latest_runs, (), {}),
        (history.findings, (None,), {}),
        (history.finding, (2,), {}),
        (audit_log.entries, (), {"run_id": 1}),
        (audit_log.entries, (), {}),
        (applied_migrations, (), {}),
    ]
    with Store.open(tmp_path / "sync.db") as sync:
        expected = [sync.call(work, *args, **kwargs) for work, args, kwargs in steps]
        expected.append(sync.call(resource_rows.listed, include_gone=True))
    async with await Store.open_async(tmp_path / "async.db") as store:
        got = [await store.run(work, *args, **kwargs) for work, args, kwargs in steps]
        got.append(await store.run(resource_rows.listed, include_gone=True))
    assert got == expected


async def test_errors_propagate_as_store_errors(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00\xff" * 4096)
    with pytest.raises(StoreError, match=r"garbage\.db: not a SQLite database"):
        await Store.open_async(garbage)
    with pytest.raises(StoreError, match="missing does not exist"):
        await Store.open_async(tmp_path / "missing" / "governor.db")
    store = await Store.open_async(tmp_path / "governor.db")
    async with store:
        with pytest.raises(StoreError, match="no run with id 99"):
            await store.run(history.run_record, 99)
    with pytest.raises(StoreError, match=r"governor\.db: the store is closed"):
        await store.run(history.latest_runs)


async def test_the_connection_lives_on_a_thread_of_its_own(tmp_path: Path) -> None:
    async with await Store.open_async(tmp_path / "governor.db") as store:
        await store.run(history.start_run, "audit", T0)
        names = {thread.name for thread in threading.enumerate() if thread.is_alive()}
        assert any(name.startswith("governor-store") for name in names)
        assert not threading.current_thread().name.startswith("governor-store")


def _thread_name(connection: sqlite3.Connection) -> str:
    connection.execute("SELECT 1")
    return threading.current_thread().name


async def test_sync_and_async_calls_run_on_the_one_store_thread(tmp_path: Path) -> None:
    """One writer thread per store: a sync command's ``call`` does not touch the connection
    from its own thread, and ``run`` from async code uses that same thread."""
    async with await Store.open_async(tmp_path / "governor.db") as store:
        by_run = await store.run(_thread_name)
        by_call = await asyncio.to_thread(store.call, _thread_name)
    assert by_run == by_call
    assert by_run.startswith("governor-store")
    with Store.open(tmp_path / "governor.db") as sync:
        assert sync.call(_thread_name).startswith("governor-store")
        assert sync.call(_thread_name) != threading.current_thread().name


async def test_a_call_cancelled_while_queued_never_runs(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    async with await Store.open_async(path, busy_timeout_seconds=60) as store:
        await store.run(history.start_run, "audit", T0)
        with second_connection(path) as holder:
            holder.execute("BEGIN IMMEDIATE")  # the first call waits in the store thread
            first = asyncio.create_task(store.run(history.start_run, "first", at(1)))
            second = asyncio.create_task(store.run(history.start_run, "second", at(2)))
            await asyncio.sleep(0)  # both handed to the store thread; second queued
            second.cancel()
            while not second.done():  # the cancellation reaches the queue on the loop
                await asyncio.sleep(0)
            holder.execute("ROLLBACK")
        assert await first == 2
        with pytest.raises(asyncio.CancelledError):
            await second
        assert [run.trigger for run in await store.run(history.latest_runs)] == ["first", "audit"]


async def test_writes_from_many_tasks_are_queued_not_interleaved(tmp_path: Path) -> None:
    async with await Store.open_async(tmp_path / "governor.db") as store:
        ids = await asyncio.gather(
            *(store.run(history.start_run, "daemon", at(hour)) for hour in range(20))
        )
        assert sorted(ids) == list(range(1, 21))
        assert len(await store.run(audit_log.entries)) == 20
