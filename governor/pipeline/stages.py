"""The stages of a run, each callable alone with typed inputs and outputs.

sweep → evaluate → estimate → record, then (as they land) plan → act → notify. The daemon
evaluates several policies against one snapshot and reuses a recent one instead of
sweeping again (``is_fresh``), so no stage assumes the one before it ran in the same call.
Pure stages (evaluate, estimate) run in a worker thread when called from the event loop
(``evaluate_off_loop``): at 10,000 branches they take long enough to stall Slack
acknowledgements and the systemd watchdog.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from governor.model.findings import Finding
from governor.model.snapshot import Snapshot
from governor.owners.match import OwnerMap
from governor.owners.stamp import stamp_findings
from governor.pipeline.detail import DetailNeed
from governor.policy import Policy, evaluate
from governor.policy.resources import SnapshotIndex
from governor.savings import with_estimates
from governor.savings.prices import Prices
from governor.savings.usage import Usage
from governor.store import Store, StoredFinding, history
from governor.sweep import Account, SweepProgress, sweep_accounts
from governor.sweep.spool import ProjectSpool

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Evaluation:
    """The findings of ``policies`` against one snapshot, and the index they were read from."""

    snapshot: Snapshot
    index: SnapshotIndex
    policies: tuple[str, ...]
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Recorded:
    """What the store made of an evaluation: this run's findings and those it resolved."""

    matched: list[StoredFinding]
    resolved: list[StoredFinding]


async def sweep_stage(
    accounts: Sequence[Account],
    *,
    clock: Clock,
    concurrency: int = 16,
    progress: Callable[[SweepProgress], None] | None = None,
    detail: DetailNeed | None = None,
    spool: ProjectSpool | None = None,
) -> Snapshot:
    """``detail``: which projects' details the policies to be judged need (default: none);
    ``spool``: where each project's bulk goes as it is read (``governor.pipeline.stream``)."""
    return await sweep_accounts(
        accounts,
        now=clock(),
        concurrency=concurrency,
        progress=progress,
        wants_detail=None if detail is None else detail.predicate(),
        wants_extra=None if detail is None else detail.extras(),
        spool=spool,
    )


def is_fresh(snapshot: Snapshot, *, now: datetime, max_age: timedelta) -> bool:
    """Whether ``snapshot`` may stand in for a new sweep (complete and young enough)."""
    return snapshot.complete and timedelta(0) <= now - snapshot.taken_at <= max_age


def evaluate_stage(
    policies: Sequence[Policy], snapshot: Snapshot, *, now: datetime, usage: Usage | None = None
) -> Evaluation:
    """``usage``: Neon's meters, for the fields measured from them (a compute kept awake)."""
    index = SnapshotIndex(snapshot, usage)
    findings = evaluate(policies, index, now=now)
    return Evaluation(
        snapshot=snapshot,
        index=index,
        policies=tuple(policy.name for policy in policies),
        findings=tuple(findings),
    )


def estimate_stage(
    evaluation: Evaluation, prices: Prices, usage: Usage | None = None
) -> Evaluation:
    """``usage``: Neon's meters, so findings are priced from measurements where they exist."""
    estimated = with_estimates(evaluation.findings, evaluation.index, prices, usage)
    return replace(evaluation, findings=tuple(estimated))


async def evaluate_off_loop(
    policies: Sequence[Policy],
    snapshot: Snapshot,
    prices: Prices,
    *,
    now: datetime,
    usage: Usage | None = None,
) -> Evaluation:
    """Evaluate and estimate in a worker thread: pure code, so nothing is shared unsafely."""

    def both() -> Evaluation:
        evaluation = evaluate_stage(policies, snapshot, now=now, usage=usage)
        return estimate_stage(evaluation, prices, usage)

    return await asyncio.to_thread(both)


async def record_stage(
    store: Store,
    run_id: int,
    evaluation: Evaluation,
    *,
    now: datetime,
    owners: OwnerMap | None = None,
) -> Recorded:
    """The snapshot and the findings into the store (on its own thread, off the loop), each
    finding stamped with its resource's owner (``owners``; None: no [owners], "none")."""
    await store.run(history.record_snapshot, run_id, evaluation.snapshot, now)
    stamps = await asyncio.to_thread(
        stamp_findings, owners or OwnerMap(), evaluation.snapshot, evaluation.findings
    )
    stored = await store.run(
        history.record_findings,
        run_id,
        list(evaluation.findings),
        evaluation.snapshot,
        list(evaluation.policies),
        now,
        owners=stamps,
    )
    matched = [item for item in stored if item.last_run_id == run_id and item.status != "resolved"]
    resolved = [item for item in stored if item.status == "resolved"]
    return Recorded(matched=matched, resolved=resolved)
