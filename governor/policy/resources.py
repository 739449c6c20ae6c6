"""What a filter sees of each resource: its API object plus the derived fields.

Lookups (endpoints by branch, children by parent, counts per project) are built once per
snapshot, so evaluating many policies over thousands of branches stays linear; the views
themselves are built on demand and not kept (``SnapshotIndex.iter_views``).
See ``governor.policy.fields`` for what each derived field means.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.model.snapshot import KeyRecord, ResourceType, Snapshot
from governor.neon.models import Branch, Endpoint, Organization, Project
from governor.policy.operators import parse_timestamp
from governor.rules.compute import lowest_valid_min


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


def floor_can_drop(values: Mapping[str, Any]) -> bool | None:
    """Whether Neon accepts a lower minimum with the compute's maximum kept (None: unknown).

    From ``governor.rules.compute``: a policy that lowers the floor selects only computes
    whose floor can drop without lowering the peak, so none of its requests is refused.
    """
    low, high = values.get("autoscaling_limit_min_cu"), values.get("autoscaling_limit_max_cu")
    if not isinstance(low, int | float) or isinstance(low, bool):
        return None
    if not isinstance(high, int | float) or isinstance(high, bool):
        return None
    lowest = lowest_valid_min(float(high))
    return lowest is not None and lowest < float(low)


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

    def views(self, resource_type: ResourceType) -> list[ResourceView]:
        """Every view of ``resource_type``, built afresh (see ``iter_views``)."""
        return list(self.iter_views(resource_type))

    def iter_views(self, resource_type: ResourceType) -> Iterator[ResourceView]:
        """The views of ``resource_type`` in snapshot order, one at a time.

        Not cached: each view's values are a new dict decoded from the object's compact
        ``raw``; at 100,000 branches, holding them all was more than the objects themselves.
        Go over them once for every policy of a type (``governor.policy.evaluate`` does).
        """
        if resource_type == "project":
            return map(self._project_view, self.snapshot.projects)
        if resource_type == "branch":
            return map(self._branch_view, self.snapshot.branches)
        if resource_type == "endpoint":
            return self._endpoint_views()
        return map(self._key_view, self.snapshot.api_keys)

    def view(self, resource_type: ResourceType, resource_id: str) -> ResourceView | None:
        """The view of one resource, or None when the snapshot does not have it."""
        if resource_type == "project":
            project = self.projects.get(resource_id)
            return self._project_view(project) if project is not None else None
        if resource_type == "branch":
            branch = self.branches.get(resource_id)
            return self._branch_view(branch) if branch is not None else None
        if resource_type == "endpoint":
            endpoint = self.endpoints.get(resource_id)
            if endpoint is None:
                return None
            return self._endpoint_view(endpoint, self._branch_fields(endpoint.branch_id))
        record = next(
            (item for item in self.snapshot.api_keys if str(item.key.id) == resource_id), None
        )
        return self._key_view(record) if record is not None else None

    def _org_of(self, project_id: str) -> str | None:
        project = self.projects.get(project_id)
        return project.org_id if project is not None else None

    def _project_name(self, project_id: str | None) -> str | None:
        project = self.projects.get(project_id) if project_id else None
        return project.name if project is not None else None

    def _project_view(self, project: Project) -> ResourceView:
        values = project.raw  # a new dict: the derived fields go over it
        values["org_id"] = project.org_id
        values["branch_count"] = self.branches_per_project[project.id]
        values["compute_count"] = self.computes_per_project[project.id]
        return ResourceView("project", project.id, project.name, project.org_id, project.id, values)

    def _branch_view(self, branch: Branch) -> ResourceView:
        computes = self.endpoints_by_branch.get(branch.id, [])
        org_id = self._org_of(branch.project_id)
        values = branch.raw
        values["org_id"] = org_id
        values["project_name"] = self._project_name(branch.project_id)
        values["last_activity"] = branch_activity(computes)
        values["has_children"] = self.children[(branch.project_id, branch.id)] > 0
        values["compute_count"] = len(computes)
        return ResourceView("branch", branch.id, branch.name, org_id, branch.project_id, values)

    def _branch_fields(self, branch_id: str) -> tuple[Any, Any, Any]:
        """The branch's ``name``, ``default`` and ``protected`` as the API gave them."""
        branch = self.branches.get(branch_id)
        if branch is None:
            return (None, None, None)
        raw = branch.raw
        return (raw.get("name"), raw.get("default"), raw.get("protected"))

    def _endpoint_views(self) -> Iterator[ResourceView]:
        branch_fields: dict[str, tuple[Any, Any, Any]] = {}
        for endpoint in self.snapshot.endpoints:
            fields = branch_fields.get(endpoint.branch_id)
            if fields is None:
                fields = branch_fields[endpoint.branch_id] = self._branch_fields(endpoint.branch_id)
            yield self._endpoint_view(endpoint, fields)

    def _endpoint_view(self, endpoint: Endpoint, branch: tuple[Any, Any, Any]) -> ResourceView:
        values = endpoint.raw
        name = values.get("name") if isinstance(values.get("name"), str) else None
        org_id = self._org_of(endpoint.project_id)
        values["org_id"] = org_id
        values["project_name"] = self._project_name(endpoint.project_id)
        values["last_activity"] = compute_activity(endpoint)
        values["branch_name"], values["branch_default"], values["branch_protected"] = branch
        floor = floor_can_drop(values)
        if floor is not None:
            values["floor_can_drop"] = floor
        return ResourceView(
            "endpoint", endpoint.id, name or endpoint.id, org_id, endpoint.project_id, values
        )

    def _key_view(self, record: KeyRecord) -> ResourceView:
        values = record.key.raw
        values["scope"] = record.scope
        values["org_id"] = record.org_id
        values["project_name"] = self._project_name(record.project_id)
        return ResourceView(
            "api_key",
            str(record.key.id),
            record.key.name,
            record.org_id,
            record.project_id,
            values,
        )
