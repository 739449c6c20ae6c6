"""``neon-governor run``: the scheduler, the signals, systemd, metrics, start and stop.

Start: take the store's lock, mark what a killed predecessor left running, schedule every
job (catching up, once, what fell due while stopped), then READY=1. SIGTERM/SIGINT mean
no new work: the scheduler pauses, a sweep still reading is abandoned at once (its run ends
``cancelled``), no remediation is claimed any more, and only a mutation already claimed
gets ``[daemon] shutdown_grace`` to end; the rest is cancelled, exit 0, no traceback.
SIGHUP: a new generation from the reloaded config, or, if it is invalid, a logged error
and the old one keeps running. ``--once`` runs what is due and sends its Slack report.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime
from typing import Any

from apscheduler.events import (  # type: ignore[import-untyped]
    EVENT_JOB_SUBMITTED,
    JobEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]

from governor.channels.outbox import flush_deliveries
from governor.config import ConfigError
from governor.daemon.generation import ConfigGeneration, Shared
from governor.daemon.health import Health
from governor.daemon.job_runner import execute_job, supervise
from governor.daemon.jobs import Job, JobResult
from governor.daemon.lock import DaemonLock
from governor.daemon.schedule import is_due, last_ran_at, misfire_grace, trigger_for
from governor.daemon.stop import flush_outbox
from governor.daemon.sweeps import SnapshotKeeper
from governor.daemon.systemd_notify import notify, watchdog_interval
from governor.exit_codes import KNOWN_ERRORS, ExitCode, describe
from governor.observability.metrics import Metrics, MetricsServer, serve_metrics
from governor.pipeline.stages import Clock, utc_now
from governor.runtime import Runtime
from governor.store import Store, history
from governor.store import jobs as job_runs

logger = logging.getLogger("governor.daemon")
ABANDONED = "left running by a process that stopped"


class Daemon:
    def __init__(
        self,
        runtime: Runtime,
        *,
        clock: Clock = utc_now,
        shared_overrides: dict[str, Any] | None = None,
    ) -> None:
        self.runtime, self.clock = runtime, clock
        self.shared_overrides = shared_overrides or {}
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.inflight: set[asyncio.Task[Any]] = set()
        self.scheduled: dict[str, datetime] = {}
        self.generation: ConfigGeneration | None = None
        self.stop = asyncio.Event()
        self._reloading = asyncio.Lock()

    async def run(self, *, once: bool = False) -> ExitCode:
        started_at = self.clock()
        policies = self.runtime.policies()
        self.runtime.owner_map()  # a broken [owners] file stops the start, not every run
        lock = DaemonLock(self.runtime.store_path())
        lock.acquire(now=started_at)
        try:
            async with await self.runtime.open_async_store() as store:
                shared = await self._shared(store, started_at)
                self.generation = await ConfigGeneration.open(self.runtime, policies, shared)
                try:
                    if once:
                        return await self._once(self.generation)
                    await self._serve(shared)
                    return ExitCode.OK
                finally:
                    await self.generation.close()
        finally:
            lock.release()

    async def _shared(self, store: Store, started_at: datetime) -> Shared:
        abandoned = await store.run(
            history.abandon_unfinished_runs,
            now=self.clock(),
            reason=ABANDONED,
            started_before=started_at,
        )
        if abandoned:
            logger.warning("marked runs %s abandoned: %s", abandoned, ABANDONED)
        for record in await store.run(job_runs.latest_per_job):
            if record.outcome is None:
                await store.run(
                    job_runs.end,
                    record.id,
                    finished_at=self.clock(),
                    outcome="abandoned",
                    detail=ABANDONED,
                )
                logger.warning("marked job run %d (%s) abandoned", record.id, record.job)
        finished = [
            run for run in await store.run(history.latest_runs, 50) if run.status == "finished"
        ]
        last = next((run.finished_at for run in finished if run.complete), None)
        daemon = self.runtime.config.daemon
        health = Health(
            max_sweep_age=daemon.max_sweep_age,
            started_at=started_at,
            clock=self.clock,
            scheduler_running=lambda: bool(self.scheduler.running) and not self.stop.is_set(),
            last_complete=datetime.fromisoformat(last) if last else None,
        )
        options: dict[str, Any] = {
            "store": store,
            "metrics": Metrics(),
            "health": health,
            "keeper": SnapshotKeeper(daemon.snapshot_max_age),
            "clock": self.clock,
            "track": self._track,
            **self.shared_overrides,
        }
        return Shared(**options)

    async def _once(self, generation: ConfigGeneration) -> ExitCode:
        """Every scheduled job that is due now, once (due ones together share one sweep)."""
        now = self.clock()
        last = {
            record.job: record
            for record in await generation.shared.store.run(job_runs.latest_per_job)
        }
        due = [
            job
            for job in generation.jobs
            if job.schedule is not None
            and is_due(job.schedule, last_ran_at(last.get(job.name)), now)
        ]
        results = await asyncio.gather(
            *(
                execute_job(job, generation.context, scheduled_for=now, clock=self.clock)
                for job in due
            )
        )
        if generation.slack is not None:
            await flush_outbox(generation.slack)
        await flush_deliveries(generation.runtime.delivery_sender(generation.shared.store))
        ok = all(result.outcome == "succeeded" for result in results)
        return ExitCode.OK if ok else ExitCode.INCOMPLETE

    async def _serve(self, shared: Shared) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._track(loop.create_task(self.reload())))
        self.scheduler.add_listener(self._on_event, EVENT_JOB_SUBMITTED)
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our own lines say more
        server = self._serve_metrics(shared)
        watchdog = asyncio.create_task(self._watchdog(), name="governor-watchdog")
        try:
            assert self.generation is not None
            await self._install(self.generation)
            self.scheduler.start()
            notify("READY=1", f"STATUS=scheduling {len(self.generation.jobs)} jobs")
            logger.info("daemon ready: %d jobs", len(self.generation.jobs))
            await self.stop.wait()
            await self._shutdown()
        finally:
            watchdog.cancel()
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(signum)
            if server is not None:
                server.close()

    def _serve_metrics(self, shared: Shared) -> MetricsServer | None:
        listen = self.runtime.config.metrics.listen
        if not listen.strip():
            return None
        try:
            return serve_metrics(listen, shared.metrics, shared.health)
        except (OSError, ValueError) as error:
            raise ConfigError(f"[metrics] listen = {listen!r}: {error}") from error

    async def _install(self, generation: ConfigGeneration) -> None:
        """Schedule the generation's jobs; catch up, once, each one that fell due."""
        now, jitter = self.clock(), self.runtime.config.daemon.jitter
        last = {
            record.job: record
            for record in await generation.shared.store.run(job_runs.latest_per_job)
        }
        for job in generation.jobs:
            if job.schedule is None:
                task = asyncio.create_task(
                    supervise(job, generation.context, clock=self.clock), name=job.name
                )
                self._track(task)
                continue
            ran = last_ran_at(last.get(job.name))
            due = is_due(job.schedule, ran, now)
            extra = {"next_run_time": now} if due else {}
            self.scheduler.add_job(
                self._fire,
                trigger_for(job.schedule, jitter=jitter, last_ran=ran, now=now),
                args=[generation, job],
                id=job.name,
                name=job.name,
                misfire_grace_time=int(misfire_grace(job.schedule, now).total_seconds()),
                coalesce=True,
                max_instances=1,
                replace_existing=True,
                **extra,
            )
            logger.info("job %s scheduled%s", job.name, " (due now: catching up)" if due else "")

    async def _fire(self, generation: ConfigGeneration, job: Job) -> None:
        self._track(asyncio.current_task())
        scheduled_for = self.scheduled.pop(job.name, None) or self.clock()
        try:
            await execute_job(
                job,
                generation.context,
                scheduled_for=scheduled_for,
                clock=self.clock,
                on_result=self._status,
            )
        except asyncio.CancelledError:
            # Its row says cancelled already; raised on, APScheduler would log a routine
            # stop as a traceback at error level.
            logger.info("job %s cancelled: %s", job.name, _why_cancelled(generation))

    def _status(self, job: Job, result: JobResult) -> None:
        notify(f"STATUS={job.name} {result.outcome}: {result.detail or ''}"[:400])

    def _on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_SUBMITTED and event.scheduled_run_times:
            self.scheduled[event.job_id] = event.scheduled_run_times[-1]
        # EVENT_JOB_MISSED and EVENT_JOB_MAX_INSTANCES: APScheduler logs a warning itself.

    def _track(self, task: asyncio.Task[Any] | None) -> None:
        if task is not None:
            self.inflight.add(task)
            task.add_done_callback(self.inflight.discard)

    async def _watchdog(self) -> None:
        """WATCHDOG=1 from the loop itself: a wedged loop stops the pings and gets restarted."""
        interval = watchdog_interval()
        while interval is not None:
            notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    async def reload(self) -> None:
        """SIGHUP: a new generation from the config file, or the old one keeps running."""
        async with self._reloading:
            old = self.generation
            if self.stop.is_set() or old is None:
                return
            try:
                runtime = Runtime.load(self.runtime.config_path, clock=self.clock)
                if runtime.store_path() != self.runtime.store_path():
                    raise ConfigError("[store] path changed: that needs a restart")
                policies = runtime.policies()
                runtime.owner_map()  # a broken [owners] file: the running config stays
                new = await ConfigGeneration.open(runtime, policies, old.shared)
            except KNOWN_ERRORS as error:
                logger.error("reload refused, the running config stays: %s", describe(error))
                return
            self.runtime, self.generation = runtime, new
            self.scheduler.remove_all_jobs()
            await self._install(new)
            # the old pass ends on its own; then the new generation starts what it left
            self._track(asyncio.create_task(new.succeed(old), name="governor-retire"))
            logger.info("reloaded %s: %d jobs", runtime.config_path, len(new.jobs))
            notify(f"STATUS=reloaded: {len(new.jobs)} jobs")

    async def _shutdown(self) -> None:
        """No new work; abandon reads at once; give claimed mutations the grace to end."""
        notify("STOPPING=1")
        grace = self.runtime.config.daemon.shutdown_grace.total_seconds()
        self.scheduler.pause()
        if self.generation is not None:
            self.generation.context.stopping.set()
            abandoned = self.generation.shared.abandon_reads()
            if abandoned:
                logger.info("stopping: abandoned %d sweeps still reading", abandoned)
        logger.info("stopping: waiting up to %.0f s for work in flight", grace)
        await asyncio.sleep(0)  # let the cancelled reads unwind before counting what is left
        pending = {task for task in self.inflight if task is not asyncio.current_task()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                logger.warning("cancelled %d tasks still running after %.0f s", len(late), grace)
                await asyncio.gather(*late, return_exceptions=True)
        self.scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # the shutdown is scheduled with call_soon_threadsafe


def _why_cancelled(generation: ConfigGeneration) -> str:
    if generation.context.stopping.is_set():
        return "the daemon is stopping or reloading"
    return "cancelled"
