"""From schedule strings to APScheduler triggers, and the catch-up rule at start.

Why it is pure: every rule here (which runs were missed, how late a run may still start,
how much jitter a short interval can take) is tested with a virtual clock; the scheduler
only receives the results. Times are UTC; cron strings are crontab(5)'s, weekdays passed
by name (governor/policy/schedule.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from governor.policy.schedule import cron_fields, schedule_interval
from governor.store.jobs import JobRunRecord

DEFAULT_SCHEDULE = "0 6 * * *"  # when no policy names a schedule: daily, 06:00 UTC
CONSUMPTION_SCHEDULE = "7 * * * *"  # Neon's meters, hourly (a little after each hour ends)
REALIZED_SCHEDULE = "37 1 * * *"  # realized savings, daily (after the 00:07 and 01:07 reads)
MIN_MISFIRE_GRACE = timedelta(seconds=1)
MAX_MISFIRE_GRACE = timedelta(hours=1)
# Outcomes after which the job counts as not having run: it is caught up at start.
NOT_RAN = frozenset({None, "cancelled", "abandoned"})


def _cron(schedule: str, *, jitter: timedelta | None = None) -> CronTrigger:
    fields = cron_fields(schedule)
    assert fields is not None  # validated by the policy loader
    seconds = int(jitter.total_seconds()) if jitter else None
    return CronTrigger(**fields, timezone="UTC", jitter=seconds or None)


def next_fire_after(schedule: str, after: datetime) -> datetime:
    """The first nominal fire time strictly after ``after`` (no jitter)."""
    interval = schedule_interval(schedule)
    if interval is not None:
        return after + interval
    fire: datetime | None = _cron(schedule).get_next_fire_time(
        None, after + timedelta(microseconds=1)
    )
    assert fire is not None  # a validated crontab line always fires again
    return fire


def period(schedule: str, now: datetime) -> timedelta:
    """The interval, or the gap between a cron line's next two fire times."""
    interval = schedule_interval(schedule)
    if interval is not None:
        return interval
    first = next_fire_after(schedule, now)
    return next_fire_after(schedule, first) - first


def misfire_grace(schedule: str, now: datetime) -> timedelta:
    """How late a run may still start: half the period, 1 s to 1 h (3.x's 1 s drops runs)."""
    return min(max(period(schedule, now) / 2, MIN_MISFIRE_GRACE), MAX_MISFIRE_GRACE)


def effective_jitter(schedule: str, jitter: timedelta, now: datetime) -> timedelta:
    """``[daemon] jitter``, but at most a quarter of the period (a 30 s jitter on "10s" is not)."""
    return min(jitter, period(schedule, now) / 4)


def last_ran_at(record: JobRunRecord | None) -> datetime | None:
    """When the job last ran to an end, or None: never, or killed or cancelled last time."""
    if record is None or record.outcome in NOT_RAN:
        return None
    return datetime.fromisoformat(record.scheduled_for)


def is_due(schedule: str, last_ran: datetime | None, now: datetime) -> bool:
    """Whether a run fell due since ``last_ran`` (never run: due, so a new install sweeps)."""
    return last_ran is None or next_fire_after(schedule, last_ran) <= now


def trigger_for(
    schedule: str, *, jitter: timedelta, last_ran: datetime | None, now: datetime
) -> BaseTrigger:
    """The trigger; an interval keeps its rhythm from the last run across restarts."""
    jitter = effective_jitter(schedule, jitter, now)
    interval = schedule_interval(schedule)
    if interval is None:
        return _cron(schedule, jitter=jitter)
    anchor = now if last_ran is None else last_ran + interval
    seconds = jitter.total_seconds()
    return IntervalTrigger(
        seconds=interval.total_seconds(),
        start_date=anchor,
        timezone="UTC",
        jitter=int(seconds) if seconds >= 1 else None,
    )
