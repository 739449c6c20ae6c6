"""StoredFindings for digest tests, stating only what a test is about."""

from __future__ import annotations

from typing import Any

from governor.model.actions import parse_action
from governor.model.findings import CostPart
from governor.store.records import StoredFinding

T = "2026-11-01T06:00:00.000000+00:00"


def stored(
    resource_id: str,
    *,
    usd: float | None = None,
    fingerprint: str | None = None,
    status: Any = "open",
    policy: str = "stale-branches",
    name: str | None = None,
    parts: tuple[tuple[str, float], ...] = (),
    finding_id: int = 1,
    resource_type: Any = "branch",
    project_id: str | None = "pr-1",
) -> StoredFinding:
    return StoredFinding(
        id=finding_id,
        policy=policy,
        resource_type=resource_type,
        resource_id=resource_id,
        org_id="org-a",
        project_id=project_id,
        name=name if name is not None else resource_id,
        severity="medium",
        summary=f"{policy} selected {resource_id}",
        action=parse_action({"type": "delete"}),
        mode="report",
        status=status,
        first_seen=T,
        last_seen=T,
        status_changed_at=T,
        resolved_at=T if status == "resolved" else None,
        reopened_at=None,
        reopen_count=0,
        fingerprint=fingerprint or f"fp-{resource_id}",
        evidence={},
        estimate_usd=usd,
        estimate_method=None if usd is None else "test",
        estimate_kind=None if usd is None else "estimated",
        first_run_id=1,
        last_run_id=1,
        resolved_run_id=None,
        estimate_parts=tuple(CostPart(key, amount) for key, amount in parts),
    )
