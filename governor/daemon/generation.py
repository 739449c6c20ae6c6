"""One config generation: its runtime, policies, clients, jobs and sweep coordinator.

Why generations: SIGHUP builds a complete new one before touching the running one, so an
invalid config (or a key that cannot be read) changes nothing; a valid one replaces the
jobs while audits already running finish on the clients they started with.

Each batch is read, then acted on, then reported. The read runs as its own task in
``Shared.reads`` so that a stop can abandon it at once (it changes nothing in Neon); the
remediation pass is skipped once the generation is stopping, and the report goes out after
the pass, so it counts what this run did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from governor.daemon.delivery_jobs import delivery_jobs
from governor.daemon.digest_jobs import digest_jobs
from governor.daemon.health import Health
from governor.daemon.jobs import Job, JobContext, consumption_jobs
from governor.daemon.metric_labels import (
    AccountOf,
    finding_counts,
    incomplete_by_account,
    savings_split,
)
from governor.daemon.remediation import DaemonRemediation, daemon_executor
from governor.daemon.slack_health import slack_health_jobs
from governor.daemon.slack_jobs import slack_jobs, slack_service
from governor.daemon.sweeps import (
    GROUP_WINDOW_SECONDS,
    SnapshotKeeper,
    SweepCoordinator,
    SweepJob,
    policies_for,
    sweep_schedules,
)
from governor.model.snapshot import Snapshot
from governor.neon.transport import NeonTransport
from governor.observability.metrics import Metrics, MetricsTransport
from governor.pipeline.audit import run_audit
from governor.pipeline.consumption import targets_of
from governor.pipeline.results import AuditResult
from governor.pipeline.stages import Clock
from governor.policy import Policy
from governor.runtime import Runtime
from governor.store import Store, history

logger = logging.getLogger("governor.daemon")
DAEMON_REPORT = "changes"  # the daemon's [slack] report when the config does not say
AuditFunction = Callable[..., Coroutine[Any, Any, AuditResult]]  # run_audit's keywords


@dataclass
class Shared:
    """What outlives generations: the store, metrics, health and the last snapshot."""

    store: Store
    metrics: Metrics
    health: Health
    keeper: SnapshotKeeper
    clock: Clock
    track: Callable[[asyncio.Task[Any]], None]
    audit: AuditFunction = run_audit
    group_window: float = GROUP_WINDOW_SECONDS
    # audits in flight, read-only until they return: a stop cancels them without waiting
    reads: set[asyncio.Task[AuditResult]] = field(default_factory=set)

    def abandon_reads(self) -> int:
        """Cancel every audit still reading; how many there were."""
        reading = [task for task in self.reads if not task.done()]
        for task in reading:
            task.cancel()
        return len(reading)


class ConfigGeneration:
    def __init__(
        self, runtime: Runtime, context: JobContext, shared: Shared, stack: AsyncExitStack
    ) -> None:
        self.runtime, self.context, self.shared, self.stack = runtime, context, shared, stack
        self.coordinator = SweepCoordinator(
            self.run_batch, window=shared.group_window, track=shared.track
        )
        self.jobs: list[Job] = []
        # org id -> the account that read it, from this generation's sweeps (metric labels)
        self.org_accounts: dict[str, str] = {}
        # sweeps whose remediation pass was skipped because this generation was stopping
        self.unpassed: list[AuditResult] = []
        self.slack = slack_service(context, partial(daemon_executor, context))
        self.channels = runtime.channels(
            self.slack, interactive=False, report=DAEMON_REPORT, store=shared.store
        )
        self.remediation = DaemonRemediation(context, channel=self.channels)
        if self.slack is not None and "report" not in self.slack.settings.model_fields_set:
            logger.info(
                'Slack: a report for each run with changes ([slack] report = "always": every run)'
            )

    @classmethod
    async def open(
        cls, runtime: Runtime, policies: Sequence[Policy], shared: Shared
    ) -> ConfigGeneration:
        """Clients for the runtime's accounts (closed by ``close``), and its jobs."""
        stack = AsyncExitStack()
        try:
            pool = NeonTransport(max_connections=runtime.config.neon.concurrency)

            def transport(account: str) -> MetricsTransport:
                return MetricsTransport(pool, shared.metrics, account=account)

            accounts = await stack.enter_async_context(runtime.open_accounts(transport=transport))
            shared.metrics.watch_budgets({each.name: each.client.pacer for each in accounts})
            shared.metrics.start_sweeps(
                [account.name for account in accounts],
                last_complete=shared.health.last_complete,
                max_age_seconds=runtime.config.daemon.max_sweep_age.total_seconds(),
            )
            context = JobContext(runtime, policies, shared.store, accounts, shared.metrics)
            generation = cls(runtime, context, shared, stack)
            generation.jobs = [
                *generation.sweep_jobs(),
                *slack_jobs(generation.slack),
                *delivery_jobs(runtime, shared.health),  # webhook, email and Teams
                *slack_health_jobs(generation.slack, shared.health),
                *consumption_jobs(runtime),
                *digest_jobs(runtime, generation.channels),
            ]
            if generation.remediation.enabled:
                # what a killed process left half-done, finished without delaying startup
                shared.track(asyncio.create_task(generation.remediation.reconcile()))
        except BaseException:
            await stack.aclose()
            raise
        return generation

    def sweep_jobs(self) -> list[SweepJob]:
        return [
            SweepJob(schedule, names, self.coordinator)
            for schedule, names in sweep_schedules(self.context.policies).items()
        ]

    async def close(self) -> None:
        """Once nothing of this generation runs any more: stop its jobs, close its clients."""
        self.context.stopping.set()
        try:
            await self.coordinator.idle()
        finally:
            await self.stack.aclose()

    async def succeed(self, old: ConfigGeneration) -> None:
        """After a reload: wait for ``old``'s pass to end, then start what it left.

        Why: a stopping generation claims nothing more, and this one's catch-up sweep is
        skipped while the old sweep job still runs (one instance per job), so the rows the
        old pass planned would wait a whole schedule period.
        """
        await old.close()
        await self.remediation.resume(old.context.unstarted, old.unpassed)

    async def run_batch(self, names: tuple[str, ...]) -> AuditResult:
        """One audit of the due policies, on the kept snapshot while it is fresh."""
        shared = self.shared
        if self.context.stopping.is_set():
            raise asyncio.CancelledError("the daemon is stopping: no new sweep")
        snapshot = shared.keeper.fresh(shared.clock())
        started = time.monotonic()
        reading = asyncio.create_task(
            self.runtime.audit(
                self.context.accounts,
                shared.store,
                policies_for(self.context.policies, names),
                trigger="daemon",
                snapshot=snapshot,
                notifier=None,  # after the remediation pass, below
                clock=shared.clock,
                run=shared.audit,
            ),
            name="governor-audit",
        )
        shared.reads.add(reading)
        reading.add_done_callback(shared.reads.discard)
        result = await reading
        if not result.reused_snapshot:
            shared.metrics.observe_sweep(time.monotonic() - started)
            shared.keeper.keep(snapshot_of(result))
        self.observe_accounts(result)
        if result.complete:
            shared.health.sweep_completed(result.finished_at)
        if not self.context.stopping.is_set():
            await self.remediation.after_audit(result)
        elif result.snapshot is not None:
            self.unpassed.append(result)  # a reload's next generation runs its pass
        await self.report(result)
        await self.update_finding_metrics()
        return result

    async def report(self, result: AuditResult) -> None:
        """The run's report, after its remediation pass: its numbers are this run's.

        Unless ``[slack] report`` is written down, the daemon reports only runs that
        changed something (``changes``): on a short schedule, "always" posted a report
        and its CSV for every sweep, nothing new or resolved included.
        """
        try:
            await self.channels.run_finished(result)
        except Exception:  # a report that cannot be queued never fails the sweep
            logger.exception("the report of run %s could not be queued", result.run_id)

    def account_of(self) -> AccountOf:
        return AccountOf([account.name for account in self.context.accounts], self.org_accounts)

    def observe_accounts(self, result: AuditResult) -> None:
        """Which account read each organization, and each account's part of a sweep that
        read Neon (a reused snapshot says nothing new about the accounts)."""
        snapshot = snapshot_of(result)
        if snapshot is not None:
            for account, org_id in targets_of(self.context.accounts, snapshot):
                self.org_accounts[org_id] = account.name
        if result.reused_snapshot:
            return
        names = [account.name for account in self.context.accounts]
        parts = incomplete_by_account(result.incomplete, names, self.account_of())
        for name, incomplete in parts.items():
            self.shared.metrics.sweep_ended(
                name, incomplete=incomplete, finished_at=result.finished_at
            )

    async def update_finding_metrics(self) -> None:
        open_findings = await self.shared.store.run(history.findings, "open")
        account_of = self.account_of()
        self.shared.metrics.set_findings(finding_counts(open_findings, account_of))
        # Each cost once: a stale branch's always-on compute is also a never-suspending one.
        self.shared.metrics.set_savings(savings_split(open_findings, account_of))


def snapshot_of(result: AuditResult) -> Snapshot | None:
    """The snapshot a run swept, when the pipeline hands it back (``AuditResult.snapshot``)."""
    snapshot = result.snapshot
    return snapshot if isinstance(snapshot, Snapshot) else None
