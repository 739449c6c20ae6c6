"""Rows of the ``resources`` table from one snapshot: every API object, exactly as returned.

One tight loop per kind, rows built whole: at 100,000 branches, per-row helper calls and
re-tupling were a visible share of storing a snapshot. Rows are yielded, not listed:
``executemany`` takes them one at a time, so the encoded text of 200,000 objects (about
150 MB at 10,000 projects) never exists at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from governor.model.snapshot import Snapshot
from governor.store.encoding import encode_json

RESOURCE_COLUMNS = (
    "resource_type",
    "resource_id",
    "org_id",
    "project_id",
    "name",
    "scope",
    "raw",
    "account",
)
SEEN_COLUMNS = ("first_seen", "last_seen", "last_run_id")
Row = tuple[Any, ...]


def _raw(kind: str, resource_id: object, raw: dict[str, Any]) -> str:
    return encode_json(raw, what=f"{kind} {resource_id}: raw API object")


def resource_rows(snapshot: Snapshot, *, at: str, run_id: int) -> Iterator[Row]:
    """One tuple per object, in ``RESOURCE_COLUMNS`` then ``SEEN_COLUMNS`` order."""
    org_of_project = {project.id: project.org_id for project in snapshot.projects}
    # several accounts: which one read each project and key (empty with one account)
    read_by = snapshot.read_by
    seen = (at, at, run_id)
    for org in snapshot.organizations:
        raw = _raw("organization", org.id, org.raw)
        yield ("organization", org.id, org.id, None, org.name, None, raw, None, *seen)
    for project in snapshot.projects:
        raw = _raw("project", project.id, project.raw)
        account = read_by.get(f"project:{project.id}")
        yield (
            "project",
            project.id,
            project.org_id,
            project.id,
            project.name,
            None,
            raw,
            account,
            *seen,
        )
    # a branch's annotations come beside it in the listing; kept in its row as GET
    # .../branches/{id} answers them (``annotation.value``), for `neon-governor owners`
    annotations = snapshot.branch_annotations
    for branch in snapshot.branches:
        project_id = branch.project_id
        values = annotations.get(branch.id)
        branch_raw = branch.raw if not values else {**branch.raw, "annotation": {"value": values}}
        raw = _raw("branch", branch.id, branch_raw)
        yield (
            "branch",
            branch.id,
            org_of_project.get(project_id),
            project_id,
            branch.name,
            None,
            raw,
            read_by.get(f"project:{project_id}"),
            *seen,
        )
    for endpoint in snapshot.endpoints:
        project_id = endpoint.project_id
        endpoint_raw = endpoint.raw
        name = endpoint_raw.get("name")
        name = name if isinstance(name, str) and name else endpoint.id
        raw = _raw("endpoint", endpoint.id, endpoint_raw)
        yield (
            "endpoint",
            endpoint.id,
            org_of_project.get(project_id),
            project_id,
            name,
            None,
            raw,
            read_by.get(f"project:{project_id}"),
            *seen,
        )
    for record in snapshot.api_keys:
        key = record.key
        raw = _raw("api_key", key.id, key.raw)
        yield (
            "api_key",
            str(key.id),
            record.org_id,
            record.project_id,
            key.name,
            record.scope,
            raw,
            read_by.get(f"key:{key.id}"),
            *seen,
        )
