"""What a filter sees of each resource: its API object plus the derived fields.

Built once per snapshot and resource type, with endpoints indexed by branch and children
counted by parent up front, so evaluating many policies over thousands of branches stays
linear. See ``governor.policy.fields`` for what each derived field means.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.inventory import ResourceType, Snapshot
from governor.neon.models import Branch, Endpoint, Organization, Project
from governor.policy.operators import parse_timestamp


@dataclass(frozen=True)
class ResourceView:
    resource_type: ResourceType
    resource_id: str  # API keys: the numeric id as a string
    name: str
    org_id: str | None
    project_id: str | None
    values: dict[str, Any]  # the API object's fields, then the derived ones over them


def compute_activity(endpoint: Endpoint) -> datetime | None:
    """The latest of the compute's ``last_active``, ``started_at``, ``suspended_at``."""
    moments = [
        moment
        for moment in map(
            parse_timestamp, (endpoint.last_active, endpoint.started_at, endpoint.suspended_at)
        )
        if moment is not None
    ]
    return max(moments) if moments else None


def branch_activity(endpoints: Iterable[Endpoint]) -> datetime | None:
    """The latest activity over ``endpoints``; None if there are none or any is unknown."""
    latest: datetime | None = None
    for endpoint in endpoints:
        moment = compute_activity(endpoint)
        if moment is None:
            return None
        latest = moment if latest is None else max(latest, moment)
    return latest


class SnapshotIndex:
    """Lookups over one snapshot, computed once and shared by evaluation and savings."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.organizations: dict[str, Organization] = {
            organization.id: organization for organization in snapshot.organizations
        }
        self.endpoints: dict[str, Endpoint] = {
            endpoint.id: endpoint for endpoint in snapshot.endpoints
        }
        self.projects: dict[str, Project] = {project.id: project for project in snapshot.projects}
        self.branches: dict[str, Branch] = {branch.id: branch for branch in snapshot.branches}
        self.endpoints_by_branch: dict[str, list[Endpoint]] = defaultdict(list)
        for endpoint in snapshot.endpoints:
            self.endpoints_by_branch[endpoint.branch_id].append(endpoint)
        self.children = Counter(
            (branch.project_id, branch.parent_id)
            for branch in snapshot.branches
            if branch.parent_id
        )
        self.branches_per_project = Counter(branch.project_id for branch in snapshot.branches)
        self.computes_per_project = Counter(endpoint.project_id for endpoint in snapshot.endpoints)
        self._views: dict[ResourceType, list[ResourceView]] = {}

    def views(self, resource_type: ResourceType) -> list[ResourceView]:
        if resource_type not in self._views:
            build = {
                "project": self._project_views,
                "branch": self._branch_views,
                "endpoint": self._endpoint_views,
                "api_key": self._key_views,
            }[resource_type]
            self._views[resource_type] = build()
        return self._views[resource_type]

    def _org_of(self, project_id: str) -> str | None:
        project = self.projects.get(project_id)
        return project.org_id if project is not None else None

    def _project_name(self, project_id: str | None) -> str | None:
        project = self.projects.get(project_id) if project_id else None
        return project.name if project is not None else None

    def _project_views(self) -> list[ResourceView]:
        return [
            ResourceView(
                "project",
                project.id,
                project.name,
                project.org_id,
                project.id,
                {
                    **project.raw,
                    "org_id": project.org_id,
                    "branch_count": self.branches_per_project[project.id],
                    "compute_count": self.computes_per_project[project.id],
                },
            )
            for project in self.snapshot.projects
        ]

    def _branch_views(self) -> list[ResourceView]:
        views = []
        for branch in self.snapshot.branches:
            computes = self.endpoints_by_branch.get(branch.id, [])
            org_id = self._org_of(branch.project_id)
            values = {
                **branch.raw,
                "org_id": org_id,
                "project_name": self._project_name(branch.project_id),
                "last_activity": branch_activity(computes),
                "has_children": self.children[(branch.project_id, branch.id)] > 0,
                "compute_count": len(computes),
            }
            views.append(
                ResourceView("branch", branch.id, branch.name, org_id, branch.project_id, values)
            )
        return views

    def _endpoint_views(self) -> list[ResourceView]:
        views = []
        for endpoint in self.snapshot.endpoints:
            raw = endpoint.raw
            branch = self.branches.get(endpoint.branch_id)
            branch_raw = branch.raw if branch is not None else {}
            org_id = self._org_of(endpoint.project_id)
            values = {
                **raw,
                "org_id": org_id,
                "project_name": self._project_name(endpoint.project_id),
                "last_activity": compute_activity(endpoint),
                "branch_name": branch_raw.get("name"),
                "branch_default": branch_raw.get("default"),
                "branch_protected": branch_raw.get("protected"),
            }
            name = raw.get("name") if isinstance(raw.get("name"), str) else None
            views.append(
                ResourceView(
                    "endpoint",
                    endpoint.id,
                    name or endpoint.id,
                    org_id,
                    endpoint.project_id,
                    values,
                )
            )
        return views

    def _key_views(self) -> list[ResourceView]:
        return [
            ResourceView(
                "api_key",
                str(record.key.id),
                record.key.name,
                record.org_id,
                record.project_id,
                {
                    **record.key.raw,
                    "scope": record.scope,
                    "org_id": record.org_id,
                    "project_name": self._project_name(record.project_id),
                },
            )
            for record in self.snapshot.api_keys
        ]
