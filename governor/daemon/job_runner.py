"""Running one ``Job``: a ``job_runs`` row that always ends, a metric, systemd's STATUS=.

Why here and not in each job: a job that raises, or is cancelled at shutdown, must still
leave its row ended (``failed`` or ``cancelled``), or the next start would take it for a
crash. A long-running job (no schedule) is restarted when it ends early or raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from governor.daemon.jobs import Job, JobContext, JobResult
from governor.pipeline.run import failure_reason
from governor.pipeline.stages import Clock
from governor.store import StoreError
from governor.store import jobs as job_runs

logger = logging.getLogger("governor.daemon")
RESTART_DELAY_SECONDS = 30.0


async def execute_job(
    job: Job,
    context: JobContext,
    *,
    scheduled_for: datetime,
    clock: Clock,
    on_result: Callable[[Job, JobResult], None] = lambda job, result: None,
) -> JobResult:
    """Run ``job`` once; its failure is logged and returned, never raised (cancel is)."""
    store = context.store
    row = await store.run(job_runs.start, job.name, scheduled_for=scheduled_for, started_at=clock())
    try:
        result = await job.run(context)
    except asyncio.CancelledError:
        await _end(context, row, clock, JobResult("failed"), outcome="cancelled")
        raise
    except Exception as error:
        logger.error("job %s failed: %s", job.name, failure_reason(error), exc_info=error)
        result = JobResult("failed", detail=failure_reason(error))
    await _end(context, row, clock, result, outcome=result.outcome)
    if result.outcome == "succeeded":
        context.metrics.job_succeeded(job.name, clock())
    logger.info("job %s %s: %s", job.name, result.outcome, result.detail or "")
    on_result(job, result)
    return result


async def _end(
    context: JobContext, row: int, clock: Clock, result: JobResult, *, outcome: str
) -> None:
    detail = "cancelled (shutdown or reload)" if outcome == "cancelled" else result.detail
    try:
        await asyncio.shield(
            context.store.run(
                job_runs.end,
                row,
                finished_at=clock(),
                outcome=outcome,
                run_id=result.run_id,
                detail=detail,
            )
        )
    except StoreError as error:
        logger.error("job run %d could not be recorded as %s: %s", row, outcome, error)


async def supervise(
    job: Job, context: JobContext, *, clock: Clock, restart_delay: float = RESTART_DELAY_SECONDS
) -> None:
    """Keep a long-running job running until ``context.stopping`` is set."""
    while not context.stopping.is_set():
        await execute_job(job, context, scheduled_for=clock(), clock=clock)
        if context.stopping.is_set():
            return
        logger.warning("job %s ended early; restarting in %.0f s", job.name, restart_delay)
        try:
            await asyncio.wait_for(context.stopping.wait(), restart_delay)
        except TimeoutError:
            continue
