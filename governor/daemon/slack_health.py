"""The daemon's Slack probe: ``auth.test`` now and every few minutes, into ``/healthz``.

Why a probe and not the outbox's failures: a wrong or revoked token is seen at start,
before any report is due, and a token that is fixed (a restart with the new one, or
Slack answering again) clears the problem without waiting for a message to go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from governor.daemon.health import Health
from governor.daemon.jobs import Job, JobContext, JobResult
from governor.slack.service import SlackService
from governor.slack.token_check import auth_problem

logger = logging.getLogger("governor.daemon.slack")
PROBE_SECONDS = 300.0


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


def slack_health_jobs(service: SlackService | None, health: Health) -> list[Job]:
    """A probe when the bot posts (a webhook has no token to check)."""
    if service is None or not service.settings.interactive:
        return []
    return [SlackHealthJob(service, health)]
