"""The daemon's ``digest`` job: on ``[digest] schedule``, once per owner per tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from governor.config import Config
from governor.config.digest import DigestSettings
from governor.config.owners import OwnerContact, OwnersSettings
from governor.daemon.digest_jobs import DigestJob, digest_jobs
from governor.daemon.jobs import JobContext
from governor.observability.metrics import Metrics
from governor.runtime import Runtime
from governor.store import Store
from tests.digest.factories import Recorder, audit
from tests.store.factories import at

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def runtime_for(clock: Clock, schedule: str | None = "7d") -> Runtime:
    config = Config(
        owners=OwnersSettings(
            owner=[OwnerContact(name="web"), OwnerContact(name="platform")], default="platform"
        ),
        digest=DigestSettings(schedule=schedule),
    )
    return Runtime(config, None, clock)


async def test_a_digest_tick_caught_up_after_a_restart_sends_no_owner_twice(
    tmp_path: Path,
) -> None:
    clock = Clock(at(1))
    runtime = runtime_for(clock)
    channel = Recorder()
    [job] = digest_jobs(runtime, channel)
    assert isinstance(job, DigestJob)
    async with await Store.open_async(tmp_path / "g.db") as store:
        audit(store, at(0), {"br-1": "web", "br-2": None})
        context = JobContext(runtime, [], store, [], Metrics())
        first = await job.run(context)
        assert first.detail == "2 sent"
        audit(store, at(1.5), {"br-1": "web", "br-2": None, "br-3": "web"})  # new: br-3
        clock.now = at(2)  # the daemon restarted and caught the tick up
        again = await job.run(context)
        assert again.detail == "1 nothing new, 1 already sent"
        assert [d.owner for d in channel.digests] == ["web", "platform"]
        clock.now = at(1) + timedelta(days=7)  # the next tick
        later = await job.run(context)
        assert later.detail == "1 sent, 1 nothing new"
        assert [i.resource_id for i in channel.digests[-1].items if i.status == "new"] == ["br-3"]


async def test_a_late_catch_up_of_last_weeks_tick_does_not_swallow_this_weeks_digest(
    tmp_path: Path,
) -> None:
    monday_9 = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)
    clock = Clock(monday_9 - timedelta(hours=13))  # Sunday 20:00: catching last week up
    runtime = runtime_for(clock, schedule="0 9 * * mon")
    channel = Recorder()
    [job] = digest_jobs(runtime, channel)
    async with await Store.open_async(tmp_path / "g.db") as store:
        audit(store, clock.now - timedelta(hours=1), {"br-1": "web"})
        context = JobContext(runtime, [], store, [], Metrics())
        assert (await job.run(context)).detail == "2 sent"
        audit(store, monday_9 - timedelta(hours=1), {"br-1": "web", "br-2": "web"})
        clock.now = monday_9 + timedelta(seconds=20)  # this week's tick, with its jitter
        assert (await job.run(context)).detail == "1 sent, 1 nothing new"
        audit(
            store, monday_9 + timedelta(minutes=10), {"br-1": "web", "br-2": "web", "br-3": "web"}
        )
        clock.now = monday_9 + timedelta(minutes=20)  # restarted within the tick
        assert (await job.run(context)).detail == "1 nothing new, 1 already sent"
    assert [d.owner for d in channel.digests] == ["web", "platform", "web"]


def test_there_is_no_digest_job_without_a_schedule() -> None:
    assert digest_jobs(runtime_for(Clock(at(0)), schedule=None), Recorder()) == []


def test_a_digest_schedule_that_is_neither_cron_nor_interval_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="neither a cron expression nor an interval"):
        DigestSettings(schedule="every monday")
    assert DigestSettings(schedule="0 9 * * mon").schedule == "0 9 * * mon"


async def test_a_digest_tick_before_any_sweep_finished_sends_nothing(tmp_path: Path) -> None:
    channel = Recorder()
    runtime = runtime_for(Clock(at(1)))
    [job] = digest_jobs(runtime, channel)
    async with await Store.open_async(tmp_path / "g.db") as store:
        result = await job.run(JobContext(runtime, [], store, [], Metrics()))
    assert result.detail is not None
    assert "no sweep has finished yet" in result.detail
    assert channel.digests == []  # not an empty "first digest" to every owner
