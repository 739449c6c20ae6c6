"""Small builders for snapshots and findings, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from governor.actions import parse_action
from governor.findings import Estimate, Finding
from governor.inventory import IncompletePart, KeyRecord, Snapshot
from governor.neon.models import ApiKey, Branch, Endpoint, Organization, Project

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
ORG = "org-a"
OTHER_ORG = "org-b"


def at(hours: float) -> datetime:
    """A moment ``hours`` after T0: runs in tests happen at at(0), at(1), ..."""
    return T0 + timedelta(hours=hours)


def finding(
    resource_id: str,
    *,
    policy: str = "stale-branches",
    resource_type: Any = "branch",
    org_id: str | None = ORG,
    project_id: str | None = "pr-1",
    fingerprint: str = "fp-1",
    evidence: dict[str, Any] | None = None,
    estimate: Estimate | None = None,
    severity: Any = "medium",
    action: dict[str, Any] | None = None,
) -> Finding:
    return Finding(
        policy=policy,
        resource_type=resource_type,
        resource_id=resource_id,
        org_id=org_id,
        project_id=project_id,
        name=f"name-{resource_id}",
        severity=severity,
        summary=f"{policy} selected {resource_id}",
        action=parse_action(action or {"type": "delete"}),
        mode="report",
        fingerprint=fingerprint,
        evidence=evidence if evidence is not None else {"last_activity": "2026-09-01"},
        estimate=estimate,
    )


def snapshot(
    *,
    org_ids: list[str] | None = None,
    projects: list[tuple[str, str | None]] | None = None,
    branches: list[tuple[str, str]] | None = None,
    keys: list[tuple[int, str, str | None]] | None = None,
    incomplete: list[IncompletePart] | None = None,
    taken_at: datetime = T0,
) -> Snapshot:
    """``projects``: (id, org_id); ``branches``: (id, project_id); ``keys``: (id, scope, org)."""
    org_ids = [ORG] if org_ids is None else org_ids
    return Snapshot(
        taken_at=taken_at,
        organizations=[Organization.from_api({"id": org, "name": org}) for org in org_ids],
        projects=[
            Project.from_api({"id": project_id, "name": project_id, "org_id": org_id})
            for project_id, org_id in (projects or [])
        ],
        branches=[
            Branch.from_api({"id": branch_id, "project_id": project_id, "name": branch_id})
            for branch_id, project_id in (branches or [])
        ],
        api_keys=[
            KeyRecord(ApiKey.from_api({"id": key_id, "name": f"key-{key_id}"}), scope, org_id)
            for key_id, scope, org_id in (keys or [])
        ],
        incomplete=incomplete or [],
        org_ids=org_ids,
    )


def endpoint(endpoint_id: str, branch_id: str, project_id: str = "pr-1") -> Endpoint:
    return Endpoint.from_api(
        {
            "id": endpoint_id,
            "project_id": project_id,
            "branch_id": branch_id,
            "autoscaling_limit_min_cu": 0.25,
            "autoscaling_limit_max_cu": 1,
        }
    )
