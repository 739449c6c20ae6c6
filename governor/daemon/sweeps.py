"""Policy sweeps as daemon jobs: one job per distinct schedule, and due jobs share one audit.

Why share: every sweep spends the account's API budget (700 requests a minute, shared with
the Console), so policies that fall due together are judged on one sweep, and a complete
snapshot younger than ``[daemon] snapshot_max_age`` is judged again instead of sweeping.
Policies without a schedule ride along in every sweep; with no schedule anywhere the
daemon sweeps on ``DEFAULT_SCHEDULE``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from governor.daemon.jobs import JobContext, JobResult
from governor.daemon.schedule import DEFAULT_SCHEDULE
from governor.model.snapshot import Snapshot
from governor.pipeline.results import AuditResult
from governor.pipeline.stages import is_fresh
from governor.policy import Policy

GROUP_WINDOW_SECONDS = 1.0  # jobs due this close together share one sweep
Sleep = Callable[[float], Awaitable[None]]
BatchRunner = Callable[[tuple[str, ...]], Awaitable[AuditResult]]


def sweep_schedules(policies: Sequence[Policy]) -> dict[str, tuple[str, ...]]:
    """Each distinct schedule and the policies it names (no schedule at all: the default)."""
    groups: dict[str, list[str]] = {}
    for policy in policies:
        if policy.schedule is not None:
            groups.setdefault(policy.schedule, []).append(policy.name)
    if not groups:
        return {DEFAULT_SCHEDULE: tuple(policy.name for policy in policies)}
    return {schedule: tuple(names) for schedule, names in groups.items()}


def policies_for(policies: Sequence[Policy], due: Sequence[str]) -> list[Policy]:
    """The due policies, and those without a schedule (they run in every sweep)."""
    wanted = set(due)
    return [policy for policy in policies if policy.name in wanted or policy.schedule is None]


class SnapshotKeeper:
    """The last complete snapshot, handed out while it is young enough to stand in."""

    def __init__(self, max_age: timedelta) -> None:
        self.max_age = max_age
        self.snapshot: Snapshot | None = None

    def fresh(self, now: datetime) -> Snapshot | None:
        kept = self.snapshot
        return kept if kept is not None and is_fresh(kept, now=now, max_age=self.max_age) else None

    def keep(self, snapshot: Snapshot | None) -> None:
        if snapshot is not None and snapshot.complete:
            self.snapshot = snapshot


class SweepCoordinator:
    """Collects due jobs for ``window`` seconds, then runs one audit for all of them.

    A job that falls due while an audit runs waits for the next one (audits never
    overlap: they would share the API budget). ``track`` sees each worker task, so the
    daemon can wait for it, or cancel it, at shutdown.
    """

    def __init__(
        self,
        run_batch: BatchRunner,
        *,
        window: float = GROUP_WINDOW_SECONDS,
        sleep: Sleep = asyncio.sleep,
        track: Callable[[asyncio.Task[None]], None] = lambda task: None,
    ) -> None:
        self._run_batch, self._window, self._sleep, self._track = run_batch, window, sleep, track
        self._pending: list[tuple[tuple[str, ...], asyncio.Future[AuditResult]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def due(self, policies: Sequence[str]) -> AuditResult:
        """Wait for the audit that covers ``policies`` and return its result."""
        future: asyncio.Future[AuditResult] = asyncio.get_running_loop().create_future()
        self._pending.append((tuple(policies), future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="governor-sweep")
            self._track(self._worker)
        return await future

    async def idle(self) -> None:
        """Return once no audit is running or waiting."""
        while self._worker is not None and not self._worker.done():
            await asyncio.wait([self._worker])

    async def _work(self) -> None:
        batch: list[tuple[tuple[str, ...], asyncio.Future[AuditResult]]] = []
        try:
            await self._sleep(self._window)
            while self._pending:
                batch, self._pending = self._pending, []
                names = tuple(dict.fromkeys(name for names, _ in batch for name in names))
                try:
                    result = await self._run_batch(names)
                except Exception as error:
                    for _, future in batch:
                        _settle(future, error=error)
                else:
                    for _, future in batch:
                        _settle(future, result=result)
                batch = []
        finally:  # cancelled (shutdown): whoever waits is cancelled too
            for _, future in [*batch, *self._pending]:
                future.cancel()
            self._pending = []


def _settle(
    future: asyncio.Future[AuditResult],
    *,
    result: AuditResult | None = None,
    error: BaseException | None = None,
) -> None:
    if future.done():  # its job was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)


@dataclass(frozen=True)
class SweepJob:
    """The job of one schedule: ask the coordinator for an audit of its policies."""

    schedule: str
    policies: tuple[str, ...]
    coordinator: SweepCoordinator

    @property
    def name(self) -> str:
        return f"sweep:{self.schedule}"

    async def run(self, context: JobContext) -> JobResult:
        _ = context
        result = await self.coordinator.due(self.policies)
        return JobResult(
            outcome="succeeded" if result.complete else "incomplete",
            run_id=result.run_id,
            detail=describe(result),
        )


def describe(result: AuditResult) -> str:
    """One line for ``job_runs.detail``, the log and systemd's STATUS=."""
    how = "complete" if result.complete else f"INCOMPLETE ({len(result.incomplete)} parts)"
    source = "reused snapshot" if result.reused_snapshot else f"{result.requests} requests"
    return (
        f"run {result.run_id} {how}: {len(result.findings)} findings, "
        f"{len(result.resolved)} resolved, {source}; policies {', '.join(result.policies)}"
    )
