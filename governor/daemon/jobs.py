"""What the daemon runs: ``Job``s (the policy sweeps, the Slack outbox, reaper and socket).

Why one protocol: every job gets, for free, what each needs: a schedule with catch-up and
misfire grace, a ``job_runs`` row per execution (``neon-governor status`` reads them), a
metric on success, shutdown within ``[daemon] shutdown_grace`` and a rebuild on SIGHUP
(each generation builds its jobs again from the new config's context, in ``generation``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from governor.daemon.schedule import CONSUMPTION_SCHEDULE, REALIZED_SCHEDULE
from governor.observability.metrics import Metrics
from governor.pipeline.consumption import read_consumption, targets_for
from governor.policy import Policy
from governor.runtime import Runtime
from governor.store import Store
from governor.store import resources as resource_rows
from governor.store.realized import measured_summary
from governor.sweep import Account

JobOutcome = Literal["succeeded", "incomplete", "failed"]


@dataclass(frozen=True)
class JobResult:
    """How one execution ended; ``run_id`` links it to a run row when it made one."""

    outcome: JobOutcome = "succeeded"
    run_id: int | None = None
    detail: str | None = None


@dataclass
class JobContext:
    """What one config generation offers its jobs; a SIGHUP reload builds a new one."""

    runtime: Runtime
    policies: Sequence[Policy]
    store: Store
    accounts: Sequence[Account]
    metrics: Metrics
    # Set when this generation ends (shutdown or reload): long-running jobs return then.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Remediations this generation declined to start because it was stopping: after a
    # reload, the new generation starts them once this one's pass has ended.
    unstarted: set[int] = field(default_factory=set)


class Job(Protocol):
    """``name`` is unique (the scheduler's id and ``job_runs.job``).

    ``schedule``: a five-field cron line or an interval such as ``5m``, and ``run`` is one
    execution; or None, and ``run`` is started once and lasts until ``context.stopping``
    is set (a connection, an outbox loop); it is restarted if it ends early or raises.
    A ``run`` that is cancelled (shutdown grace exceeded) must leave the store consistent.
    """

    @property
    def name(self) -> str: ...

    @property
    def schedule(self) -> str | None: ...

    async def run(self, context: JobContext) -> JobResult: ...


@dataclass(frozen=True)
class ConsumptionJob:
    """Neon's consumption meters into the store every hour (``[consumption] enabled``).

    Why hourly and apart from the sweeps: the meters age out of Neon's hourly lookback in
    7 days, and the bill and realized savings want every hour; reading them costs only the
    consumption budget, never the sweep's. The organizations are those the latest sweep
    kept in the store.
    """

    schedule: str | None = CONSUMPTION_SCHEDULE
    name: str = "consumption"

    async def run(self, context: JobContext) -> JobResult:
        settings = context.runtime.config.consumption
        now = context.runtime.clock()
        orgs = await context.store.run(resource_rows.listed, "organization")
        read_by = {org.resource_id: org.account for org in orgs}
        targets = targets_for(context.accounts, [org.resource_id for org in orgs], read_by)
        if not targets:
            return JobResult(detail="no organization swept yet")
        run = await read_consumption(targets, context.store, now=now, keep=settings.keep)
        failed = [org for org in run.orgs if org.outcome == "failed"]
        refused = sum(1 for org in run.orgs if org.outcome == "refused")
        detail = (
            f"{len(run.orgs)} organizations, {refused} refused by their plan, "
            f"{len(failed)} failed; {run.requests} requests"
        )
        return JobResult(outcome="incomplete" if failed else "succeeded", detail=detail)


@dataclass(frozen=True)
class RealizedSavingsJob:
    """Measure succeeded remediations whose after window has closed, once a day, and set
    ``neon_governor_realized_monthly_savings_usd``.

    Why a job of its own: the sweeps measure too, but a daemon whose sweeps reuse a fresh
    snapshot or run weekly would leave a measurement waiting for days; this one reads
    only the store (the hourly consumption job keeps the meters there).
    """

    schedule: str | None = REALIZED_SCHEDULE
    name: str = "realized-savings"

    async def run(self, context: JobContext) -> JobResult:
        config = context.runtime.config
        total = await measured_summary(
            context.store,
            now=context.runtime.clock(),
            prices=config.prices,
            windows=config.savings.windows(),
        )
        if total is None:
            return JobResult(outcome="failed", detail="the store could not be read (see the log)")
        context.metrics.set_realized_savings(total.realized_usd)
        return JobResult(
            detail=f"{total.measured} measured (${total.realized_usd:,.2f}/month realized), "
            f"{total.waiting} waiting, {total.no_data} without data"
        )


def consumption_jobs(runtime: Runtime) -> list[Job]:
    """The hourly meter read and the daily realized-savings measurement (it reads what the
    meter read keeps), when ``[consumption] enabled``."""
    if not runtime.config.consumption.enabled:
        return []
    return [ConsumptionJob(), RealizedSavingsJob()]
