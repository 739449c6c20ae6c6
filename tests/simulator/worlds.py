"""A small hand-written world whose every case is named, for behaviour tests.

Objects carry every field the spec requires, so conformance tests can use them too.
"""

from __future__ import annotations

from typing import Any

STAMP = "2026-10-01T08:00:00Z"
TINY_ORG_ID = "org-tiny-11111111"
OTHER_ORG_ID = "org-other-22222222"
TINY_PROJECT_ID = "tiny-project-11111111"
SECOND_PROJECT_ID = "second-project-22222222"
OTHER_PROJECT_ID = "other-project-33333333"
PERSONAL_TOKEN = "personal-token-secret-value"
ORG_TOKEN = "org-token-secret-value"
OTHER_ORG_TOKEN = "other-org-token-secret-value"
PROJECT_TOKEN = "project-token-secret-value"


def organization(org_id: str, name: str) -> dict[str, Any]:
    return {
        "id": org_id,
        "name": name,
        "handle": name.lower(),
        "plan": "scale",
        "created_at": STAMP,
        "updated_at": STAMP,
        "managed_by": "console",
    }


def project(project_id: str, org_id: str, name: str) -> dict[str, Any]:
    return {
        "id": project_id,
        "platform_id": "aws",
        "region_id": "aws-us-east-2",
        "name": name,
        "provisioner": "k8s-neonvm",
        "pg_version": 17,
        "proxy_host": "us-east-2.aws.neon.tech",
        "branch_logical_size_limit": 3072,
        "branch_logical_size_limit_bytes": 3072 * 1024 * 1024,
        "store_passwords": True,
        "active_time_seconds": 120,
        "compute_time_seconds": 40,
        "written_data_bytes": 1000,
        "data_transfer_bytes": 2000,
        "data_storage_bytes_hour": 3000,
        "cpu_used_sec": 40,
        "creation_source": "console",
        "history_retention_seconds": 86400,
        "created_at": STAMP,
        "updated_at": STAMP,
        "consumption_period_start": "2026-11-01T00:00:00Z",
        "consumption_period_end": "2026-12-01T00:00:00Z",
        "owner_id": "5a8a2a8e-3e8b-4d55-9f9a-1c1d1e1f1a1b",
        "org_id": org_id,
    }


def branch(
    branch_id: str, project_id: str, name: str, parent_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {"id": branch_id, "project_id": project_id}
    if parent_id is not None:
        data["parent_id"] = parent_id
    data.update(
        {
            "name": name,
            "current_state": "ready",
            "state_changed_at": STAMP,
            "logical_size": 30 * 1024 * 1024,
            "creation_source": "console",
            "default": False,
            "protected": False,
            "cpu_used_sec": 1,
            "compute_time_seconds": 1,
            "active_time_seconds": 4,
            "written_data_bytes": 10,
            "data_transfer_bytes": 20,
            "created_at": STAMP,
            "updated_at": STAMP,
        }
    )
    data.update(extra)
    return data


def endpoint(endpoint_id: str, project_id: str, branch_id: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "host": f"{endpoint_id}.us-east-2.aws.neon.tech",
        "id": endpoint_id,
        "project_id": project_id,
        "branch_id": branch_id,
        "autoscaling_limit_min_cu": 0.25,
        "autoscaling_limit_max_cu": 1,
        "region_id": "aws-us-east-2",
        "type": "read_write",
        "current_state": "idle",
        "settings": {},
        "pooler_enabled": False,
        "pooler_mode": "transaction",
        "disabled": False,
        "passwordless_access": True,
        "creation_source": "console",
        "created_at": STAMP,
        "updated_at": STAMP,
        "last_active": STAMP,
        "suspended_at": STAMP,
        "proxy_host": "us-east-2.aws.neon.tech",
        "suspend_timeout_seconds": 0,
        "provisioner": "k8s-neonvm",
    }
    data.update(extra)
    return data


def api_key(key_id: int, name: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": key_id,
        "name": name,
        "created_at": STAMP,
        "created_by": {
            "id": "0c9d9e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f",
            "name": "Alice",
            "image": "https://avatars.example.com/alice.png",
        },
        "last_used_at": None,
        "last_used_from_addr": "",
    }
    data.update(extra)
    return data


def tiny_world_data() -> dict[str, Any]:
    """Branches of tiny-project: main (default), dev (has a child), dev/feature, preview
    (active compute), guarded (protected), orphan-root (a second root, not default)."""
    pid = TINY_PROJECT_ID
    tiny_project = {
        **project(pid, TINY_ORG_ID, "tiny"),
        "branches": [
            branch("br-main-1", pid, "main", default=True),
            branch("br-dev-1", pid, "dev", "br-main-1", updated_at="2026-10-02T08:00:00Z"),
            branch("br-feature-1", pid, "dev/feature", "br-dev-1"),
            branch("br-preview-1", pid, "preview/pr-7", "br-main-1"),
            branch("br-guarded-1", pid, "guarded", "br-main-1", protected=True),
            branch("br-orphan-1", pid, "orphan-root"),
        ],
        "endpoints": [
            endpoint("ep-main-1", pid, "br-main-1"),
            endpoint(
                "ep-preview-1",
                pid,
                "br-preview-1",
                current_state="active",
                started_at=STAMP,
            ),
        ],
    }
    second_project = {
        **project(SECOND_PROJECT_ID, TINY_ORG_ID, "second"),
        "branches": [branch("br-second-main-1", SECOND_PROJECT_ID, "main", default=True)],
        "endpoints": [],
    }
    other_project = {
        **project(OTHER_PROJECT_ID, OTHER_ORG_ID, "other"),
        "branches": [branch("br-other-main-1", OTHER_PROJECT_ID, "main", default=True)],
        "endpoints": [],
    }
    return {
        "keys": {
            PERSONAL_TOKEN: {"kind": "personal"},
            ORG_TOKEN: {"kind": "org", "org_id": TINY_ORG_ID},
            OTHER_ORG_TOKEN: {"kind": "org", "org_id": OTHER_ORG_ID},
            PROJECT_TOKEN: {"kind": "project", "org_id": TINY_ORG_ID, "project_id": pid},
        },
        "personal_api_keys": [
            api_key(1001, "laptop"),
            api_key(
                1002,
                "ci",
                last_used_at="2026-11-20T10:00:00Z",
                last_used_from_addr="203.0.113.9",
            ),
        ],
        "organizations": [
            {
                **organization(TINY_ORG_ID, "Tiny"),
                "api_keys": [
                    api_key(2001, "org-admin"),
                    api_key(2002, "tiny-deployer", project_id=pid),
                ],
                "projects": [tiny_project, second_project],
            },
            {
                **organization(OTHER_ORG_ID, "Other"),
                "api_keys": [api_key(3001, "other-admin")],
                "projects": [other_project],
            },
        ],
    }
