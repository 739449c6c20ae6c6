"""One audit: sweep → evaluate → estimate → record → notify, shared by the CLI and the daemon.

Why one function: the daemon's scheduled job and the one-shot ``audit`` command must not
diverge; both call ``run_audit`` with their own accounts, store, clock and trigger. One
clock reaches every stage, so a frozen clock and ``Snapshot.taken_at`` agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from governor.config.consumption import ConsumptionSettings
from governor.config.savings import SavingsSettings
from governor.model.snapshot import Snapshot
from governor.owners.match import OwnerMap
from governor.pipeline.consumption import consumption_usage
from governor.pipeline.detail import DetailNeed
from governor.pipeline.gc_pacing import young_collections_only
from governor.pipeline.results import AuditResult, RunNames
from governor.pipeline.run import recorded_run
from governor.pipeline.stages import (
    Clock,
    evaluate_off_loop,
    record_stage,
    sweep_stage,
    utc_now,
)
from governor.pipeline.stream import stream_stage
from governor.policy import Policy
from governor.savings.prices import Prices
from governor.store import Store
from governor.store.realized import measured_summary
from governor.sweep import Account, SweepProgress
from governor.sweep.spool import ProjectSpool

if TYPE_CHECKING:
    from governor.pipeline.notifier import Notifier


async def run_audit(
    *,
    accounts: Sequence[Account],
    store: Store,
    policies: Sequence[Policy],
    prices: Prices,
    clock: Clock = utc_now,
    concurrency: int = 16,
    trigger: str = "audit",
    progress: Callable[[SweepProgress], None] | None = None,
    snapshot: Snapshot | None = None,
    notifier: Notifier | None = None,
    consumption: ConsumptionSettings | None = None,
    savings: SavingsSettings | None = None,
    owners: OwnerMap | None = None,
    keep_snapshot: bool = True,
) -> AuditResult:
    """Run every stage once; pass ``snapshot`` to judge a recent sweep instead of sweeping.

    ``consumption`` (enabled): a fresh sweep is followed by a read of Neon's meters, and
    findings are priced from the store's meters where they exist (before pricing).

    The run row is finished, or marked failed with the reason, whatever happens. Then the
    realized-savings measurement pass runs (``savings``: its windows; cheap, store only).
    ``owners``: who owns what ([owners]); each finding stored is stamped with its owner.
    ``keep_snapshot``: False streams a fresh sweep through evaluation and the store a batch
    of projects at a time (``governor.pipeline.stream``: flat memory, the same results);
    the result then has no ``snapshot``, only the names the reports show (``names``).
    """
    if not keep_snapshot and snapshot is None:
        return await _streamed_audit(
            accounts=accounts,
            store=store,
            policies=policies,
            prices=prices,
            clock=clock,
            concurrency=concurrency,
            trigger=trigger,
            progress=progress,
            notifier=notifier,
            consumption=consumption,
            savings=savings,
            owners=owners,
        )
    async with young_collections_only(), recorded_run(store, trigger, clock) as run:
        started_at = clock()
        detail = DetailNeed.of(policies)
        if snapshot is not None and not detail.served_by(snapshot):
            snapshot = None  # swept without project details these policies need
        reused = snapshot is not None
        if snapshot is None:
            snapshot = await sweep_stage(
                accounts, clock=clock, concurrency=concurrency, progress=progress, detail=detail
            )
        usage = None
        if consumption is not None and consumption.enabled:
            usage = await consumption_usage(
                accounts, store, snapshot, consumption, now=clock(), read=not reused
            )
        evaluation = await evaluate_off_loop(policies, snapshot, prices, now=clock(), usage=usage)
        recorded = await record_stage(store, run.run_id, evaluation, now=clock(), owners=owners)
        await run.finish(
            complete=snapshot.complete,
            requests=0 if reused else snapshot.requests,
            errors=[part.as_dict() for part in snapshot.incomplete],
        )
    result = AuditResult(
        run_id=run.run_id,
        started_at=started_at,
        finished_at=run.finished_at or clock(),
        complete=snapshot.complete,
        requests=0 if reused else snapshot.requests,
        findings=recorded.matched,
        resolved=recorded.resolved,
        incomplete=list(snapshot.incomplete),
        policies=list(evaluation.policies),
        snapshot_counts=snapshot_counts(snapshot),
        reused_snapshot=reused,
        minimum_requests=0 if reused else snapshot.minimum_requests,
        clock_skew_seconds=snapshot.clock_skew_seconds,
        snapshot=snapshot,
        realized=await measured_summary(
            store, now=clock(), prices=prices, windows=(savings or SavingsSettings()).windows()
        ),
    )
    if notifier is not None:
        await notifier.run_finished(result)
    return result


async def _streamed_audit(
    *,
    accounts: Sequence[Account],
    store: Store,
    policies: Sequence[Policy],
    prices: Prices,
    clock: Clock,
    concurrency: int,
    trigger: str,
    progress: Callable[[SweepProgress], None] | None,
    notifier: Notifier | None,
    consumption: ConsumptionSettings | None,
    savings: SavingsSettings | None,
    owners: OwnerMap | None,
) -> AuditResult:
    """``run_audit`` with ``keep_snapshot=False``: the same stages, streamed."""
    with ProjectSpool() as spool:
        async with young_collections_only(), recorded_run(store, trigger, clock) as run:
            started_at = clock()
            swept = await sweep_stage(
                accounts,
                clock=clock,
                concurrency=concurrency,
                progress=progress,
                detail=DetailNeed.of(policies),
                spool=spool,
            )
            usage = None
            if consumption is not None and consumption.enabled:
                usage = await consumption_usage(accounts, store, swept, consumption, now=clock())
            streamed = await stream_stage(
                store, run.run_id, swept, spool, policies=policies, prices=prices, now=clock(),
                usage=usage, owners=owners,
            )  # fmt: skip
            await run.finish(
                complete=swept.complete,
                requests=swept.requests,
                errors=[part.as_dict() for part in swept.incomplete],
            )
    result = AuditResult(
        run_id=run.run_id,
        started_at=started_at,
        finished_at=run.finished_at or clock(),
        complete=swept.complete,
        requests=swept.requests,
        findings=streamed.matched,
        resolved=streamed.resolved,
        incomplete=list(swept.incomplete),
        policies=[policy.name for policy in policies],
        snapshot_counts={
            "organizations": len(swept.organizations),
            "projects": len(swept.projects),
            "branches": streamed.counts["branches"],
            "endpoints": streamed.counts["endpoints"],
            "api_keys": len(swept.api_keys),
        },
        minimum_requests=swept.minimum_requests,
        clock_skew_seconds=swept.clock_skew_seconds,
        names=RunNames.of(swept),
        realized=await measured_summary(
            store, now=clock(), prices=prices, windows=(savings or SavingsSettings()).windows()
        ),
    )
    del swept
    if notifier is not None:
        await notifier.run_finished(result)
    return result


def snapshot_counts(snapshot: Snapshot) -> dict[str, int]:
    return {
        "organizations": len(snapshot.organizations),
        "projects": len(snapshot.projects),
        "branches": len(snapshot.branches),
        "endpoints": len(snapshot.endpoints),
        "api_keys": len(snapshot.api_keys),
    }
