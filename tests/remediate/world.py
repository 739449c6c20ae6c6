"""A small world with one named case per rule the remediation engine must keep.

Project ``fix-project``: main (default root), stale branches with and without computes,
a stale chain (parent with a stale child: only the child is selected), a protected stale
branch, an active branch, and computes that never suspend, are oversized within the cap
or a fixed size beyond Neon's 16 CU autoscaling cap. Organization and personal keys unused
for months. Dates are relative to tests.conftest.WORLD_NOW (2026-11-27 12:00 UTC).
"""

from __future__ import annotations

from typing import Any

from tests.simulator.worlds import api_key, branch, endpoint, organization, project

ORG_ID = "org-fix-11111111"
PROJECT_ID = "fix-project-11111111"
QUIET_PROJECT_ID = "quiet-project-22222222"
PERSONAL_TOKEN = "fix-personal-token"
PERSONAL_USER = "0c9d9e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"  # Alice: api_key() makes her every creator
OLD = "2026-08-01T08:00:00Z"  # about 4 months before WORLD_NOW
RECENT = "2026-11-27T11:00:00Z"  # an hour before WORLD_NOW

STALE_WITH_COMPUTE = "br-stale-compute-1"
STALE_NO_COMPUTE = "br-stale-bare-1"
STALE_PARENT = "br-stale-parent-1"
STALE_CHILD = "br-stale-child-1"
PROTECTED_STALE = "br-protected-1"
ACTIVE = "br-active-1"
NEVER_SUSPENDS = "ep-never-suspends-1"
OVERSIZED = "ep-oversized-1"
BEYOND_CAP = "ep-beyond-cap-1"
STALE_COMPUTE = "ep-stale-compute-1"
ACTIVE_COMPUTE = "ep-active-1"
ORG_KEY = 5001
PERSONAL_KEY = 6001


def world_data() -> dict[str, Any]:
    pid = PROJECT_ID

    def old_branch(branch_id: str, name: str, parent: str, **extra: Any) -> dict[str, Any]:
        return branch(branch_id, pid, name, parent, created_at=OLD, updated_at=OLD, **extra)

    fix_project = {
        **project(pid, ORG_ID, "fix"),
        "branches": [
            branch("br-main-1", pid, "main", default=True, created_at=OLD, updated_at=OLD),
            old_branch(STALE_WITH_COMPUTE, "preview/pr-1", "br-main-1"),
            old_branch(STALE_NO_COMPUTE, "preview/pr-2", "br-main-1"),
            old_branch(STALE_PARENT, "feature/x", "br-main-1"),
            old_branch(STALE_CHILD, "feature/x-child", STALE_PARENT),
            old_branch(PROTECTED_STALE, "keep/me", "br-main-1", protected=True),
            old_branch(ACTIVE, "preview/pr-3", "br-main-1"),
        ],
        "endpoints": [
            endpoint(
                NEVER_SUSPENDS,
                pid,
                "br-main-1",
                suspend_timeout_seconds=-1,
                current_state="active",
                started_at=RECENT,
                last_active=RECENT,
            ),
            endpoint(
                OVERSIZED,
                pid,
                "br-main-1",
                type="read_only",
                autoscaling_limit_min_cu=8,
                autoscaling_limit_max_cu=10,
                last_active=RECENT,
            ),
            endpoint(
                BEYOND_CAP,
                pid,
                "br-main-1",
                type="read_only",
                autoscaling_limit_min_cu=32,  # a fixed size: Neon autoscales to 16 CU only
                autoscaling_limit_max_cu=32,
                last_active=RECENT,
            ),
            endpoint(STALE_COMPUTE, pid, STALE_WITH_COMPUTE, last_active=OLD, suspended_at=OLD),
            endpoint(
                ACTIVE_COMPUTE,
                pid,
                ACTIVE,
                current_state="active",
                started_at=RECENT,
                last_active=RECENT,
            ),
        ],
    }
    quiet_project = {
        **project(QUIET_PROJECT_ID, ORG_ID, "quiet"),
        "branches": [branch("br-quiet-main-1", QUIET_PROJECT_ID, "main", default=True)],
        "endpoints": [],
    }
    return {
        "keys": {PERSONAL_TOKEN: {"kind": "personal", "user_id": PERSONAL_USER}},
        "personal_api_keys": [
            api_key(PERSONAL_KEY, "old-laptop", created_at=OLD),
            api_key(6002, "in-use", created_at=OLD, last_used_at=RECENT),
        ],
        "organizations": [
            {
                **organization(ORG_ID, "Fix"),
                "api_keys": [
                    api_key(ORG_KEY, "old-deployer", created_at=OLD),
                    api_key(5002, "ci", created_at=OLD, last_used_at=RECENT),
                ],
                "projects": [fix_project, quiet_project],
            }
        ],
    }
