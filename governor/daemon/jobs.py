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

from governor.observability.metrics import Metrics
from governor.policy import Policy
from governor.runtime import Runtime
from governor.store import Store
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
