"""A small world and meters for the issue 18 lever estimates (shared by their tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from governor.model.actions import parse_action
from governor.model.consumption import Bucket
from governor.model.findings import Estimate, Finding
from governor.model.snapshot import ResourceType, Snapshot
from governor.neon.models import Branch, Endpoint, Organization, Project, ProjectSnapshot
from governor.policy.resources import SnapshotIndex
from governor.savings import estimate
from governor.savings.prices import Prices
from governor.savings.usage import Usage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GB = 10**9
PRICES = Prices()  # launch $0.106/CU-h, storage $0.35, restore $0.20, snapshots $0.09
MIDNIGHT = NOW.replace(hour=0, minute=0)
LAST_HOUR = NOW.replace(minute=0)


def organization(plan: str = "launch", **extra: Any) -> Organization:
    return Organization.from_api({"id": "org-a", "name": "Acme", "plan": plan, **extra})


def project(**extra: Any) -> Project:
    return Project.from_api({"id": "pr-1", "name": "shop", "org_id": "org-a", **extra})


def branch(branch_id: str, parent: str | None = "br-root", **extra: Any) -> Branch:
    data: dict[str, Any] = {"id": branch_id, "project_id": "pr-1", "name": branch_id, **extra}
    if parent is not None:
        data["parent_id"] = parent
    return Branch.from_api(data)


def root(**extra: Any) -> Branch:
    return branch("br-root", parent=None, default=True, **extra)


def compute(
    endpoint_id: str = "ep-1", *, min_cu: float = 0.25, suspend: int = 0, **extra: Any
) -> Endpoint:
    return Endpoint.from_api(
        {
            "id": endpoint_id,
            "project_id": "pr-1",
            "branch_id": extra.pop("branch_id", "br-root"),
            "autoscaling_limit_min_cu": min_cu,
            "autoscaling_limit_max_cu": max(min_cu, 4),
            "suspend_timeout_seconds": suspend,
            **extra,
        }
    )


def snapshot_of(snapshot_id: str, *, days_old: float, **extra: Any) -> ProjectSnapshot:
    created = (NOW - timedelta(days=days_old)).isoformat()
    return ProjectSnapshot.from_api(
        {"id": snapshot_id, "name": snapshot_id, "project_id": "pr-1", "created_at": created}
        | extra
    )


def world(
    *,
    plan: str = "launch",
    branches: list[Branch] | None = None,
    endpoints: list[Endpoint] | None = None,
    project_extra: dict[str, Any] | None = None,
    org: Organization | None = None,
    **parts: Any,
) -> Snapshot:
    return Snapshot(
        taken_at=NOW,
        organizations=[org or organization(plan)],
        projects=[project(**(project_extra or {}))],
        branches=branches if branches is not None else [root()],
        endpoints=endpoints or [],
        org_ids=["org-a"],
        **parts,
    )


def finding(
    resource_type: ResourceType,
    resource_id: str,
    action: dict[str, Any],
    evidence: dict[str, Any] | None = None,
) -> Finding:
    return Finding(
        policy="test-policy",
        resource_type=resource_type,
        resource_id=resource_id,
        org_id="org-a",
        project_id=None if resource_type == "organization" else "pr-1",
        name=resource_id,
        severity="medium",
        summary="selected",
        action=parse_action(action),
        mode="report",
        fingerprint="fp",
        evidence=evidence or {},
    )


def _row(
    branch_id: str | None,
    granularity: Any,
    start: datetime,
    end: datetime,
    *,
    metric: str,
    value: float,
) -> Bucket:
    return Bucket(
        "org-a", "pr-1", branch_id, granularity, start, end, None, "launch", metric, value
    )


def daily(
    metric: str, value: float, *, days: int = 30, branch_id: str | None = None
) -> list[Bucket]:
    """``days`` complete days of one metric, ``value`` a day (project rows by default)."""
    return [
        _row(
            branch_id,
            "daily",
            MIDNIGHT - timedelta(days=n + 1),
            MIDNIGHT - timedelta(days=n),
            metric=metric,
            value=value,
        )
        for n in range(days)
    ]


def hourly(
    metric: str, value: float, *, hours: int = 168, branch_id: str | None = None
) -> list[Bucket]:
    """The last ``hours`` complete hours of one metric, ``value`` an hour."""
    return [
        _row(
            branch_id,
            "hourly",
            LAST_HOUR - timedelta(hours=n + 1),
            LAST_HOUR - timedelta(hours=n),
            metric=metric,
            value=value,
        )
        for n in range(hours)
    ]


def held(gigabytes: float) -> float:
    """A day's byte-months of ``gigabytes`` held all day (the calibrated byte-month unit)."""
    return gigabytes * GB * 24 / 744


def meters(rows: list[Bucket]) -> Usage:
    return Usage(rows, NOW, {"org-a": "byte_months"})


def estimate_of(
    found: Finding, snapshot: Snapshot, usage: Usage | None = None, prices: Prices = PRICES
) -> Estimate:
    return estimate(found, SnapshotIndex(snapshot), prices, usage)
