"""What the daemon runs: ``Job``s, from the policy sweeps to the remediation executor to come.

Why a protocol and factories: the remediation executor, the operation follower, the
approval reaper, the Slack outbox and the Socket Mode connection each arrive in their own
issue; each adds a ``JobFactory`` and gets, for free, what every job needs: a schedule
with catch-up and misfire grace, a ``job_runs`` row per execution (``neon-governor
status`` reads them), a metric on success, shutdown within ``[daemon] shutdown_grace`` and
a rebuild on SIGHUP (factories are called again with the new config's context).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from governor.observability.metrics import Metrics
from governor.policy import Policy
from governor.runtime import Runtime
from governor.store.async_store import AsyncStore
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
    store: AsyncStore
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


JobFactory = Callable[[JobContext], Iterable[Job]]


class JobRegistry:
    """The factories the daemon asks for jobs, in order; names must not collide."""

    def __init__(self, factories: Sequence[JobFactory] = ()) -> None:
        self._factories: list[JobFactory] = list(factories)

    def add(self, factory: JobFactory) -> None:
        self._factories.append(factory)

    def jobs(self, context: JobContext) -> list[Job]:
        made: list[Job] = []
        for factory in self._factories:
            made.extend(factory(context))
        names = [job.name for job in made]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"two daemon jobs share a name: {', '.join(repeated)}")
        return made
