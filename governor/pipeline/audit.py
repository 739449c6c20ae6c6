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
from governor.pipeline.results import AuditResult
from governor.pipeline.run import recorded_run
from governor.pipeline.stages import (
    Clock,
    evaluate_off_loop,
    record_stage,
    sweep_stage,
    utc_now,
)
from governor.policy import Policy
from governor.savings.prices import Prices
from governor.store import Store
from governor.store.realized import measured_summary
from governor.sweep import Account, SweepProgress

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
) -> AuditResult:
    """Run every stage once; pass ``snapshot`` to judge a recent sweep instead of sweeping.

    ``consumption`` (enabled): a fresh sweep is followed by a read of Neon's meters, and
    findings are priced from the store's meters where they exist (before pricing).

    The run row is finished, or marked failed with the reason, whatever happens. Then the
    realized-savings measurement pass runs (``savings``: its windows; cheap, store only).
    ``owners``: who owns what ([owners]); each finding stored is stamped with its owner.
    """
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


def snapshot_counts(snapshot: Snapshot) -> dict[str, int]:
    return {
        "organizations": len(snapshot.organizations),
        "projects": len(snapshot.projects),
        "branches": len(snapshot.branches),
        "endpoints": len(snapshot.endpoints),
        "api_keys": len(snapshot.api_keys),
    }
