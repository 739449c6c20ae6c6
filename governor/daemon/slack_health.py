"""The daemon's Slack probes, into ``/healthz`` and the metrics: ``auth.test`` now and every
few minutes, and the outbox's health (pending, failed, oldest pending) every half minute.

Why a probe and not the outbox's failures: a wrong or revoked token is seen at start,
before any report is due, and a token that is fixed (a restart with the new one, or
Slack answering again) clears the problem without waiting for a message to go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from governor.daemon.health import Health
from governor.daemon.jobs import Job, JobContext, JobResult
from governor.observability.metrics import Metrics
from governor.slack.service import SlackService
from governor.slack.token_check import auth_problem
from governor.store import Store
from governor.store import slack as slack_table
from governor.store.slack import OutboxHealth

logger = logging.getLogger("governor.daemon.slack")
PROBE_SECONDS = 300.0
OUTBOX_SECONDS = 30.0


@dataclass(frozen=True)
class SlackHealthJob:
    service: SlackService
    health: Health
    name: str = "slack:health"
    schedule: str | None = None
    interval: float = PROBE_SECONDS

    async def run(self, context: JobContext) -> JobResult:
        while not context.stopping.is_set():
            problem = await auth_problem(self.service.web)
            if problem != self.health.slack_problem:
                if problem is None:
                    logger.info("Slack accepts the bot token again")
                else:
                    logger.error("%s: reports and approval requests cannot be posted", problem)
            self.health.slack_checked(problem)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(context.stopping.wait(), timeout=self.interval)
        return JobResult(detail="stopped")


@dataclass(frozen=True)
class OutboxHealthJob:
    """Why a job of its own: the outbox can be stuck with a good token (Slack down, a
    channel the bot left), and a webhook-only setup has no token to probe at all."""

    service: SlackService
    health: Health
    name: str = "slack:outbox-health"
    schedule: str | None = None
    interval: float = OUTBOX_SECONDS

    async def run(self, context: JobContext) -> JobResult:
        while not context.stopping.is_set():
            await outbox_health(self.service.store, self.health, context.metrics)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(context.stopping.wait(), timeout=self.interval)
        return JobResult(detail="stopped")


async def outbox_health(store: Store, health: Health, metrics: Metrics) -> OutboxHealth:
    """Read the outbox's health once; tell ``/healthz`` and the metrics."""
    found = await store.run(slack_table.health)
    oldest = found.oldest_pending_at
    health.outbox_checked(datetime.fromisoformat(oldest) if oldest else None)
    metrics.set_outbox(
        "slack",
        pending=found.pending,
        failed=found.failed,
        oldest_pending_age_seconds=found.oldest_pending_age_seconds(health.clock()),
    )
    return found


def slack_health_jobs(service: SlackService | None, health: Health) -> list[Job]:
    """The outbox's health whenever Slack is set up; the token probe when the bot posts
    (a webhook has no token to check)."""
    if service is None:
        return []
    if not service.settings.interactive:
        return [OutboxHealthJob(service, health)]
    return [SlackHealthJob(service, health), OutboxHealthJob(service, health)]
