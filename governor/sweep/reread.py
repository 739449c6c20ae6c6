"""Read again, just before acting, the part of the account one finding is about.

Why a project at a time: a branch's derived fields (``last_activity``, ``has_children``)
come from its siblings and computes, so the re-read covers the whole project (3 requests),
and the policy is evaluated again on that small snapshot exactly as on a full one. A key's
re-read is its organization's key list (or the personal one).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from governor.model.snapshot import KeyRecord, KeyScope, ResourceType, Snapshot
from governor.neon.client import NeonClient
from governor.neon.models import Branch


async def reread_project(
    client: NeonClient, *, org_id: str | None, project_id: str, now: datetime
) -> Snapshot:
    """The project, its branches and its computes as they are now (NeonError on failure)."""

    async def branches() -> list[Branch]:
        return [branch async for branch in client.iter_branches(project_id)]

    project, branch_list, endpoints = await asyncio.gather(
        client.get_project(project_id), branches(), client.list_endpoints(project_id)
    )
    snapshot = Snapshot(taken_at=now, projects=[project], branches=branch_list)
    snapshot.endpoints = endpoints
    snapshot.org_ids = [org_id] if org_id else []
    return snapshot


async def reread_keys(
    client: NeonClient, *, scope: KeyScope, org_id: str | None, now: datetime
) -> Snapshot:
    """The key list a key finding came from, as it is now."""
    if scope == "personal" or org_id is None:
        keys = await client.list_personal_api_keys()
        records = [KeyRecord(key, "personal", None) for key in keys]
    else:
        keys = await client.list_org_api_keys(org_id)
        records = [
            KeyRecord(key, "project" if key.project_id else "organization", org_id) for key in keys
        ]
    return Snapshot(taken_at=now, api_keys=records, org_ids=[org_id] if org_id else [])


async def reread(
    client: NeonClient,
    *,
    resource_type: ResourceType,
    org_id: str | None,
    project_id: str | None,
    key_scope: KeyScope | None = None,
    now: datetime,
) -> Snapshot:
    """The smallest snapshot in which a resource of this kind can be judged again."""
    if resource_type == "api_key":
        return await reread_keys(client, scope=key_scope or "organization", org_id=org_id, now=now)
    if project_id is None:
        raise ValueError(f"a {resource_type} finding without a project cannot be re-read")
    return await reread_project(client, org_id=org_id, project_id=project_id, now=now)
