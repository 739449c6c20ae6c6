"""Owner digests as a daemon job, on ``[digest] schedule``.

Why a tick has a start: a restart inside a tick (the job's run ended unrecorded, so the
daemon catches it up at start) must not send the same owners again; a digest recorded for
an owner since the tick started is this tick's. A cron tick starts at its nominal fire time
(jitter only delays a run), so a late catch-up for last week's tick does not swallow this
week's; an interval has no fixed grid (it keeps its rhythm from the last run), so its tick
is the last half period: the next run is at least three quarters of a period later
(jitter is at most a quarter) and never mistaken for this one.

Why it waits for a sweep: a new daemon catches every job up at start, and a digest sent
before the first sweep has finished would tell each owner they own nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from governor.daemon.jobs import Job, JobContext, JobResult
from governor.daemon.schedule import next_fire_after, period
from governor.digest.send import DigestChannel, outcome_counts, owners_for_runtime, send_digests
from governor.policy.schedule import schedule_interval
from governor.runtime import Runtime
from governor.store import history


@dataclass(frozen=True)
class DigestJob:
    schedule: str
    channels: DigestChannel
    name: str = "digest"

    async def run(self, context: JobContext) -> JobResult:
        runtime = context.runtime
        now = runtime.clock()
        recent = await context.store.run(history.latest_runs, 50)
        if not any(run.status == "finished" for run in recent):
            return JobResult(detail="no sweep has finished yet: digests wait for the next tick")
        owners, default = owners_for_runtime(runtime)
        outcomes = await send_digests(
            context.store,
            self.channels,
            owners,
            default=default,
            now=now,
            top=runtime.config.digest.top,
            tick_start=tick_start(self.schedule, now),
        )
        counts = outcome_counts(outcomes)
        detail = ", ".join(f"{count} {verdict}" for verdict, count in counts.items()) or (
            "no owners set up"
        )
        return JobResult(
            outcome="incomplete" if counts.get("failed") else "succeeded", detail=detail
        )


def tick_start(schedule: str, now: datetime) -> datetime:
    """When the tick ``now`` belongs to began: a cron line's latest fire time at or before
    ``now``; an interval's last half period."""
    length = period(schedule, now)
    if schedule_interval(schedule) is not None:
        return now - length / 2
    start, fire = now - length / 2, next_fire_after(schedule, now - 2 * length)
    while fire <= now:
        start, fire = fire, next_fire_after(schedule, fire)
    return start


def digest_jobs(runtime: Runtime, channels: DigestChannel) -> list[Job]:
    """The digest job when ``[digest] schedule`` is set."""
    schedule = runtime.config.digest.schedule
    if schedule is None:
        return []
    return [DigestJob(schedule, channels)]
