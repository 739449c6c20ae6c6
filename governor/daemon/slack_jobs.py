"""Slack as daemon jobs: the outbox sender and the Socket Mode connection (long-running),
and a reaper every minute (expired approvals, exemptions that ended, and approval
requests nobody has asked in Slack yet: a CLI ``apply`` creates them without posting).

Why jobs: the daemon restarts a long-running job that ends early or raises, drains them
on SIGTERM and replaces them on SIGHUP like every other job. Without a bot token the
daemon logs why and runs without Slack: a report that cannot be posted never stops a sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from governor.daemon.jobs import Job, JobContext, JobResult
from governor.remediate.execute import Executor
from governor.secrets import SecretError
from governor.slack.service import SlackService

logger = logging.getLogger("governor.daemon.slack")
REAPER_SCHEDULE = "1m"


def slack_service(
    context: JobContext, executor: Callable[[], Executor] | None = None
) -> SlackService | None:
    try:
        return context.runtime.slack(context.store, context.accounts, executor=executor)
    except SecretError as error:
        logger.error("Slack is configured but its bot token cannot be read: %s", error)
        return None


@dataclass(frozen=True)
class OutboxJob:
    service: SlackService
    name: str = "slack:outbox"
    schedule: str | None = None

    async def run(self, context: JobContext) -> JobResult:
        await self.service.sender().run(context.stopping)
        return JobResult(detail="stopped")


@dataclass(frozen=True)
class SocketJob:
    service: SlackService
    name: str = "slack:socket"
    schedule: str | None = None

    async def run(self, context: JobContext) -> JobResult:
        try:
            await self.service.run_socket(context.stopping)
        except SecretError as error:
            logger.error("Slack buttons are off: the app token cannot be read: %s", error)
            await context.stopping.wait()
        return JobResult(detail="stopped")


@dataclass(frozen=True)
class ReaperJob:
    service: SlackService
    name: str = "slack:reaper"
    schedule: str | None = REAPER_SCHEDULE

    async def run(self, context: JobContext) -> JobResult:
        expired = await self.service.approvals.reap()
        asked = await self.service.approvals.request_unasked()
        ended = await self.service.announce_ended_exemptions()
        return JobResult(
            detail=f"{len(expired)} approvals expired, {len(asked)} requests posted, "
            f"{ended} exemptions ended"
        )


def slack_jobs(service: SlackService | None) -> list[Job]:
    if service is None:
        return []
    if not service.settings.interactive:  # webhook_url: reports only
        return [OutboxJob(service)]
    return [OutboxJob(service), SocketJob(service), ReaperJob(service)]
