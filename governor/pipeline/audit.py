"""One audit: sweep → evaluate → estimate → store → result. Shared by the CLI and the daemon.

Why one function: the daemon's scheduled job and the one-shot ``audit`` command must not
diverge; both call ``run_audit`` with their own client, store and trigger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from governor.findings import SEVERITY_ORDER
from governor.inventory import IncompletePart
from governor.neon.client import NeonClient
from governor.policy import Policy, evaluate
from governor.policy.resources import SnapshotIndex
from governor.savings import with_estimates
from governor.savings.prices import Prices
from governor.store import Store, StoredFinding
from governor.sweep import SweepProgress, sweep


@dataclass(frozen=True)
class AuditResult:
    run_id: int
    started_at: datetime
    finished_at: datetime
    complete: bool
    requests: int
    findings: list[StoredFinding]  # matched in this run
    resolved: list[StoredFinding]  # stopped matching in this run
    incomplete: list[IncompletePart]
    policies: list[str]
    snapshot_counts: dict[str, int] = field(default_factory=dict)

    def failing(self, fail_on: str) -> list[StoredFinding]:
        """Open findings at or above ``fail_on`` (``none`` never fails)."""
        if fail_on == "none":
            return []
        threshold = SEVERITY_ORDER[fail_on]
        return [
            finding
            for finding in self.findings
            if finding.status == "open" and SEVERITY_ORDER.get(finding.severity, 0) >= threshold
        ]


def exit_code(result: AuditResult, fail_on: str) -> int:
    """0 clean, 1 findings at or above ``fail_on``, 3 the sweep was incomplete."""
    if not result.complete:
        return 3
    return 1 if result.failing(fail_on) else 0


async def run_audit(
    *,
    client: NeonClient,
    store: Store,
    policies: Sequence[Policy],
    prices: Prices,
    org_ids: Sequence[str] | None = None,
    concurrency: int = 16,
    trigger: str = "audit",
    progress: Callable[[SweepProgress], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AuditResult:
    started_at = clock()
    run_id = store.start_run(trigger, started_at)
    snapshot = await sweep(
        client,
        org_ids=list(org_ids) if org_ids else None,
        concurrency=concurrency,
        progress=progress,
    )
    now = clock()
    index = SnapshotIndex(snapshot)
    findings = with_estimates(evaluate(policies, index, now=now), index, prices)
    policy_names = [policy.name for policy in policies]
    store.record_snapshot(run_id, snapshot, now)
    stored = store.record_findings(run_id, findings, snapshot, policy_names, now)
    finished_at = clock()
    errors: list[dict[str, Any]] = [part.as_dict() for part in snapshot.incomplete]
    store.finish_run(
        run_id,
        finished_at=finished_at,
        complete=snapshot.complete,
        requests=snapshot.requests,
        errors=errors,
    )
    matched = [item for item in stored if item.last_run_id == run_id and item.status != "resolved"]
    resolved = [item for item in stored if item.status == "resolved"]
    return AuditResult(
        run_id=run_id,
        started_at=started_at,
        finished_at=finished_at,
        complete=snapshot.complete,
        requests=snapshot.requests,
        findings=matched,
        resolved=resolved,
        incomplete=list(snapshot.incomplete),
        policies=policy_names,
        snapshot_counts={
            "organizations": len(snapshot.organizations),
            "projects": len(snapshot.projects),
            "branches": len(snapshot.branches),
            "endpoints": len(snapshot.endpoints),
            "api_keys": len(snapshot.api_keys),
        },
    )
