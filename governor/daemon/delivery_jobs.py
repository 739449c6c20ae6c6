"""The webhook, email and Teams outbox as a long-running daemon job.

Why a job: the daemon restarts a long-running job that ends early or raises, drains it
on SIGTERM and replaces it on SIGHUP, like Slack's outbox. Each run builds its own sender
(its HTTP client is closed when the run ends, so a restart never reuses a closed one),
and after each pass it sets the outbox gauges (pending, failed, oldest pending age) per
channel, which ``/healthz`` and the alert rules read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from governor.channels import configured
from governor.daemon.health import Health
from governor.daemon.jobs import Job, JobContext, JobResult
from governor.runtime import Runtime
from governor.store.deliveries import ChannelHealth

logger = logging.getLogger("governor.daemon.deliveries")


@dataclass(frozen=True)
class DeliveryJob:
    health: Health | None = None  # /healthz fails while a message waits too long
    name: str = "deliveries:outbox"
    schedule: str | None = None

    async def run(self, context: JobContext) -> JobResult:
        sender = context.runtime.delivery_sender(context.store)
        if sender is None:  # nothing configured any more: wait for the stop
            await context.stopping.wait()
            return JobResult(detail="stopped")
        clock = context.runtime.clock

        def observe(health: dict[str, ChannelHealth]) -> None:
            now = clock()
            for channel, state in health.items():
                context.metrics.set_outbox(
                    channel,
                    pending=state.pending,
                    failed=state.failed,
                    oldest_pending_age_seconds=state.oldest_pending_age_seconds(now),
                )
                if self.health is not None:
                    oldest = state.oldest_pending_at
                    self.health.channel_outbox_checked(
                        channel, datetime.fromisoformat(oldest) if oldest else None
                    )

        await sender.run(context.stopping, after_pass=observe)
        return JobResult(detail="stopped")


def delivery_jobs(runtime: Runtime, health: Health | None = None) -> list[Job]:
    """The outbox job when a webhook, email or Teams is set up."""
    return [DeliveryJob(health)] if configured(runtime.config) else []
