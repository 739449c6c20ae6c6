"""A job's row always ends: succeeded, failed with the reason, or cancelled; restarts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from governor.daemon.job_runner import execute_job, supervise
from governor.daemon.jobs import JobContext, JobResult
from governor.observability.metrics import Metrics
from governor.runtime import Runtime
from governor.store import Store
from governor.store import jobs as job_runs

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def clock() -> datetime:
    return T0


@dataclass
class FakeJob:
    name: str
    behaviour: str  # "ok", "raise", "block", "end-early"
    schedule: str | None = "5m"
    runs: int = 0

    async def run(self, context: JobContext) -> JobResult:
        self.runs += 1
        if self.behaviour == "raise":
            raise RuntimeError("the outbox is unreachable")
        if self.behaviour == "block":
            await asyncio.Event().wait()
        if self.behaviour == "end-early" and self.runs >= 2:
            context.stopping.set()
        return JobResult("succeeded", detail=f"run {self.runs}")


async def context_for(store: Store, metrics: Metrics) -> JobContext:
    return JobContext(Runtime(), [], store, [], metrics)


async def test_outcomes_are_recorded_and_success_counts_in_the_metrics(tmp_path: Path) -> None:
    metrics = Metrics()
    async with await Store.open_async(tmp_path / "g.db") as store:
        context = await context_for(store, metrics)
        ok = await execute_job(FakeJob("ok", "ok"), context, scheduled_for=T0, clock=clock)
        failed = await execute_job(FakeJob("bad", "raise"), context, scheduled_for=T0, clock=clock)
        blocked = asyncio.create_task(
            execute_job(FakeJob("slow", "block"), context, scheduled_for=T0, clock=clock)
        )
        while len(await store.run(job_runs.latest_per_job)) < 3:
            await asyncio.sleep(0.01)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        rows = {row.job: row for row in await store.run(job_runs.latest_per_job)}
    assert ok.outcome == "succeeded"
    assert failed.outcome == "failed"
    assert rows["ok"].outcome == "succeeded"
    assert rows["bad"].outcome == "failed"
    assert rows["bad"].detail == "RuntimeError: the outbox is unreachable"
    assert rows["slow"].outcome == "cancelled"
    assert metrics.sample("neon_governor_job_last_success_timestamp_seconds", {"job": "ok"})
    assert (
        metrics.sample("neon_governor_job_last_success_timestamp_seconds", {"job": "bad"}) is None
    )


async def test_a_long_running_job_that_ends_early_is_restarted(tmp_path: Path) -> None:
    async with await Store.open_async(tmp_path / "g.db") as store:
        context = await context_for(store, Metrics())
        job = FakeJob("outbox", "end-early", schedule=None)
        await asyncio.wait_for(supervise(job, context, clock=clock, restart_delay=0), 60)
    assert job.runs == 2
