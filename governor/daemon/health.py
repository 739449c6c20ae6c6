"""``/healthz``: the scheduler runs, the last complete sweep is recent enough, and Slack,
when set up, accepts the bot token and takes the outbox's messages.

Why a sweep's age and not "Neon answers": restarting the daemon will not fix Neon, but a
daemon whose sweeps stopped completing needs a person. So does a Slack token that was
wrong or revoked: every report and approval request would fail quietly; and so does an
outbox whose oldest message has waited longer than ``outbox_stuck_after`` (Slack down or
refusing for that long: approvers no longer hear of anything). Called on the
metrics server's thread, so it only reads values the event loop assigns (single
attribute reads).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from governor.pipeline.stages import Clock

OUTBOX_STUCK_AFTER = timedelta(minutes=15)


class Health:
    def __init__(
        self,
        *,
        max_sweep_age: timedelta,
        started_at: datetime,
        clock: Clock,
        scheduler_running: Callable[[], bool],
        last_complete: datetime | None = None,
        outbox_stuck_after: timedelta = OUTBOX_STUCK_AFTER,
    ) -> None:
        self.max_sweep_age, self.started_at, self.clock = max_sweep_age, started_at, clock
        self.scheduler_running = scheduler_running
        self.last_complete = last_complete  # when the last complete sweep finished
        self.slack_problem: str | None = None  # why Slack refuses the bot token, if it does
        self.outbox_stuck_after = outbox_stuck_after
        self.oldest_pending: datetime | None = None  # the oldest unsent outbox message's time
        # the same for the webhook, email and Teams outbox, per channel
        self.channels_oldest: dict[str, datetime | None] = {}

    def sweep_completed(self, finished_at: datetime) -> None:
        self.last_complete = finished_at

    def slack_checked(self, problem: str | None) -> None:
        self.slack_problem = problem

    def outbox_checked(self, oldest_pending: datetime | None) -> None:
        self.oldest_pending = oldest_pending

    def channel_outbox_checked(self, channel: str, oldest_pending: datetime | None) -> None:
        """A webhook, email or Teams outbox's oldest unsent message (None: nothing waits)."""
        self.channels_oldest = {**self.channels_oldest, channel: oldest_pending}

    def __call__(self) -> tuple[bool, str]:
        if not self.scheduler_running():
            return False, "the scheduler is not running"
        problem = self.slack_problem
        if problem is not None:
            return False, f"slack: {problem}"
        now, last = self.clock(), self.last_complete
        oldest = self.oldest_pending
        if oldest is not None and now - oldest > self.outbox_stuck_after:
            return False, (
                f"slack: the oldest outbox message has waited since {oldest.isoformat()}, "
                f"longer than {self.outbox_stuck_after} (see `neon-governor status`)"
            )
        for channel, waiting in sorted(self.channels_oldest.items()):
            if waiting is not None and now - waiting > self.outbox_stuck_after:
                return False, (
                    f"{channel}: the oldest outbox message has waited since "
                    f"{waiting.isoformat()}, longer than {self.outbox_stuck_after} "
                    "(see `neon-governor status`)"
                )
        if last is None:
            if now - self.started_at <= self.max_sweep_age:
                return True, "starting"  # grace: the first sweep may take a while
            return False, f"no complete sweep since the start at {self.started_at.isoformat()}"
        if now - last > self.max_sweep_age:
            return False, (
                f"the last complete sweep finished at {last.isoformat()}, "
                f"longer ago than max_sweep_age ({self.max_sweep_age})"
            )
        return True, f"last complete sweep finished at {last.isoformat()}"
