"""Small builders for snapshots and findings, so each test states only what it is about."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from governor.model.actions import parse_action
from governor.model.findings import Estimate, Finding
from governor.model.snapshot import IncompletePart, KeyRecord, Snapshot
from governor.neon.models import ApiKey, Branch, Endpoint, Organization, Project

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
ORG = "org-a"
OTHER_ORG = "org-b"


@contextmanager
def second_connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection of the test's own to the store's file, as another process would have.

    ``isolation_level=None``: the test says BEGIN and COMMIT itself.
    """
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        yield connection


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


def branch_raw(number: int, project_id: str = "pr-1") -> dict[str, Any]:
    """A branch as the simulator returns one (about 1 KB of JSON)."""
    return {
        "id": f"br-{number:06d}-quiet-sky",
        "project_id": project_id,
        "parent_id": "br-000000-main-root",
        "parent_lsn": "3/1A2B3C4D",
        "parent_timestamp": "2026-09-01T10:00:00Z",
        "name": f"preview/pr-{number}",
        "current_state": "ready",
        "state_changed_at": "2026-09-02T10:00:00Z",
        "logical_size": 31_457_280 + number,
        "creation_source": "github-actions",
        "primary": False,
        "default": False,
        "protected": False,
        "cpu_used_sec": 1_234 + number,
        "compute_time_seconds": 1_234 + number,
        "active_time_seconds": 4_113 + number,
        "written_data_bytes": 1_048_576 + number,
        "data_transfer_bytes": 524_288 + number,
        "created_at": "2026-09-01T10:00:00Z",
        "updated_at": "2026-09-02T10:00:00Z",
        "init_source": "parent-data",
        "created_by": {"name": "Alice", "image": ""},
        "ttl_interval_seconds": 604_800,
        "restore_status": "none",
        "expires_at": None,
        "last_reset_at": "2026-09-01T10:00:00Z",
        "recovery_window_seconds": 86_400,
        "schema_initialized": True,
        "annotations": {"github-repo": "acme/shop", "github-pr": str(number)},
    }


def large_snapshot(branches: int) -> Snapshot:
    """One organization, one project, ``branches`` simulator-like branches."""
    swept = snapshot(projects=[("pr-1", ORG)])
    swept.branches.extend(Branch.from_api(branch_raw(number)) for number in range(branches))
    return swept


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
