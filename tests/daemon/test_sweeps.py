"""Due jobs share one audit; a fresh complete snapshot is judged again instead of sweeping."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.daemon.sweeps import SnapshotKeeper, SweepCoordinator
from governor.model.snapshot import IncompletePart, Snapshot
from governor.pipeline.results import AuditResult

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def result(run_id: int, policies: tuple[str, ...]) -> AuditResult:
    return AuditResult(run_id, T0, T0, True, 1, [], [], [], list(policies))


class Window:
    """A sleep the test ends: the grouping window is as long as the test says."""

    def __init__(self) -> None:
        self.open = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        _ = seconds
        await self.open.wait()


async def test_jobs_due_in_one_window_share_one_audit_and_later_ones_wait_for_the_next() -> None:
    window, release = Window(), asyncio.Event()
    batches: list[tuple[str, ...]] = []

    async def run_batch(names: tuple[str, ...]) -> AuditResult:
        batches.append(names)
        if len(batches) == 1:
            await release.wait()
        return result(len(batches), names)

    coordinator = SweepCoordinator(run_batch, sleep=window.sleep)
    first = asyncio.create_task(coordinator.due(["a", "b"]))
    second = asyncio.create_task(coordinator.due(["b", "c"]))
    await asyncio.sleep(0)
    window.open.set()
    while not batches:
        await asyncio.sleep(0)
    late = asyncio.create_task(coordinator.due(["d"]))  # due while the first audit runs
    await asyncio.sleep(0)
    assert batches == [("a", "b", "c")]
    release.set()
    assert (await first).run_id == (await second).run_id == 1
    assert (await late).run_id == 2
    assert batches == [("a", "b", "c"), ("d",)]
    await coordinator.idle()


async def test_an_audit_error_reaches_every_job_that_waited_for_it() -> None:
    async def run_batch(names: tuple[str, ...]) -> AuditResult:
        raise RuntimeError("neon fell over")

    coordinator = SweepCoordinator(run_batch, window=0)
    outcomes = await asyncio.gather(
        coordinator.due(["a"]), coordinator.due(["b"]), return_exceptions=True
    )
    assert [str(outcome) for outcome in outcomes] == ["neon fell over", "neon fell over"]


async def test_cancelling_the_audit_cancels_the_jobs_waiting_for_it() -> None:
    started = asyncio.Event()
    tracked: list[asyncio.Task[Any]] = []

    async def run_batch(names: tuple[str, ...]) -> AuditResult:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    coordinator = SweepCoordinator(run_batch, window=0, track=tracked.append)
    waiting = asyncio.create_task(coordinator.due(["a"]))
    await started.wait()
    [worker] = tracked
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


def snapshot(taken_at: datetime, *, complete: bool = True) -> Snapshot:
    parts = [] if complete else [IncompletePart("projects", "503")]
    return Snapshot(taken_at=taken_at, incomplete=parts)


def test_the_keeper_hands_out_a_complete_snapshot_only_while_it_is_young(tmp_path: Path) -> None:
    _ = tmp_path
    keeper = SnapshotKeeper(timedelta(minutes=10))
    assert keeper.fresh(T0) is None
    kept = snapshot(T0)
    keeper.keep(kept)
    assert keeper.fresh(T0 + timedelta(minutes=10)) is kept
    assert keeper.fresh(T0 + timedelta(minutes=10, seconds=1)) is None
    keeper.keep(snapshot(T0 + timedelta(minutes=5), complete=False))  # never an incomplete one
    assert keeper.fresh(T0 + timedelta(minutes=6)) is kept


class VirtualClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def test_a_batch_judges_the_kept_snapshot_again_until_it_is_too_old(tmp_path: Path) -> None:
    from contextlib import AsyncExitStack

    from governor.daemon.generation import ConfigGeneration, Shared
    from governor.daemon.health import Health
    from governor.daemon.jobs import JobContext
    from governor.observability.metrics import Metrics
    from governor.runtime import Runtime
    from governor.store import Store
    from tests.daemon.test_schedule import policy

    clock = VirtualClock()
    passed: list[Snapshot | None] = []

    async def audit(**kwargs: Any) -> AuditResult:
        given = kwargs["snapshot"]
        passed.append(given)
        audited = result(len(passed), tuple(p.name for p in kwargs["policies"]))
        if given is None:  # swept: the pipeline hands back what it swept
            object.__setattr__(audited, "snapshot", snapshot(clock()))
        else:
            object.__setattr__(audited, "reused_snapshot", True)
        return audited

    async with await Store.open_async(tmp_path / "g.db") as store:
        metrics = Metrics()
        health = Health(
            max_sweep_age=timedelta(hours=1),
            started_at=T0,
            clock=clock,
            scheduler_running=lambda: True,
        )
        keeper = SnapshotKeeper(timedelta(minutes=10))
        shared = Shared(store, metrics, health, keeper, clock, lambda task: None, audit=audit)
        runtime = Runtime()
        policies = [policy("a", "5m"), policy("b", None)]
        context = JobContext(runtime, policies, store, [], metrics)
        generation = ConfigGeneration(runtime, context, shared, AsyncExitStack())
        first = await generation.run_batch(("a",))
        clock.now += timedelta(minutes=5)
        await generation.run_batch(("a",))
        clock.now += timedelta(minutes=6)  # 11 minutes after the sweep
        await generation.run_batch(("a",))
    assert first.policies == ["a", "b"]  # b has no schedule: in every sweep
    assert passed[0] is None
    assert passed[1] is not None
    assert passed[1].taken_at == T0
    assert passed[2] is None
    assert health() == (True, f"last complete sweep finished at {T0.isoformat()}")
    assert metrics.sample("neon_governor_sweep_duration_seconds_count") == 2
