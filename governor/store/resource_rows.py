"""Rows of the ``resources`` table from one snapshot: every API object, exactly as returned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from governor.inventory import Snapshot
from governor.store.encoding import encode_json
from governor.store.records import StoredResourceType

RESOURCE_COLUMNS = (
    "resource_type",
    "resource_id",
    "org_id",
    "project_id",
    "name",
    "scope",
    "raw",
)


def _row(
    resource_type: StoredResourceType,
    resource_id: str,
    *,
    org_id: str | None,
    project_id: str | None,
    name: str | None,
    raw: dict[str, Any],
    scope: str | None = None,
) -> tuple[Any, ...]:
    return (
        resource_type,
        resource_id,
        org_id,
        project_id,
        name,
        scope,
        encode_json(raw, what=f"{resource_type} {resource_id}: raw API object"),
    )


def resource_rows(snapshot: Snapshot) -> Iterator[tuple[Any, ...]]:
    """One tuple per object, in ``RESOURCE_COLUMNS`` order."""
    org_of_project = {project.id: project.org_id for project in snapshot.projects}
    for organization in snapshot.organizations:
        yield _row(
            "organization",
            organization.id,
            org_id=organization.id,
            project_id=None,
            name=organization.name,
            raw=organization.raw,
        )
    for project in snapshot.projects:
        yield _row(
            "project",
            project.id,
            org_id=project.org_id,
            project_id=project.id,
            name=project.name,
            raw=project.raw,
        )
    for branch in snapshot.branches:
        yield _row(
            "branch",
            branch.id,
            org_id=org_of_project.get(branch.project_id),
            project_id=branch.project_id,
            name=branch.name,
            raw=branch.raw,
        )
    for endpoint in snapshot.endpoints:
        name = endpoint.raw.get("name")
        yield _row(
            "endpoint",
            endpoint.id,
            org_id=org_of_project.get(endpoint.project_id),
            project_id=endpoint.project_id,
            name=name if isinstance(name, str) and name else endpoint.id,
            raw=endpoint.raw,
        )
    for record in snapshot.api_keys:
        yield _row(
            "api_key",
            str(record.key.id),
            org_id=record.org_id,
            project_id=record.project_id,
            name=record.key.name,
            raw=record.key.raw,
            scope=record.scope,
        )
