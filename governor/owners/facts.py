"""What owner rules can know about one resource, from a sweep or from the store.

Why one shape for every resource type: rules name organizations, projects, branch names,
branch annotations, creation sources and key creators, and a finding may be about an
organization, a project, a branch, a compute (owned through its branch), an API key or a
snapshot (owned through its project). ``FactsIndex`` answers for any of them, built
either from a ``Snapshot`` (while an audit stamps its findings) or from the store's
resources (``neon-governor owners``, which makes no Neon call), so both agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from governor.model.snapshot import Snapshot
from governor.neon.annotations import annotation_values
from governor.neon.models import Branch
from governor.store.records import StoredResource

# Where the store keeps a branch's annotations in its raw object, as GET .../branches/{id}
# answers them beside the branch (``{"value": {...}}``; see governor/store/resource_rows.py).
STORED_ANNOTATION_KEY = "annotation"


@dataclass(frozen=True)
class ResourceFacts:
    """One resource as owner rules see it; ``None``: not known or does not apply."""

    resource_type: str
    resource_id: str
    org_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    branch_name: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    creation_source: str | None = None
    key_creator: str | None = None
    name: str | None = None  # the resource's own name, for reports


@dataclass(frozen=True)
class _Project:
    name: str | None
    org_id: str | None


class _Branch:
    """A branch's facts; ``creation_source`` read from ``model`` on first use (a sweep's
    raw objects are compact bytes, decoded on each access: at 100,000 branches, decoding
    every one to stamp a few thousand findings was most of the work)."""

    __slots__ = ("_model", "_source", "annotations", "name", "project_id")

    def __init__(
        self,
        project_id: str,
        name: str | None,
        annotations: Mapping[str, str],
        creation_source: str | None = None,
        model: Branch | None = None,
    ) -> None:
        self.project_id, self.name, self.annotations = project_id, name, annotations
        self._source, self._model = creation_source, model

    @property
    def creation_source(self) -> str | None:
        if self._model is not None:
            self._source = _text(self._model.raw.get("creation_source"))
            self._model = None
        return self._source


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _stored_annotations(raw: Mapping[str, Any]) -> dict[str, str]:
    annotation = raw.get(STORED_ANNOTATION_KEY)
    return annotation_values(annotation.get("value") if isinstance(annotation, dict) else None)


def key_creator(raw: Mapping[str, Any]) -> str | None:
    """An API key's creator user id: ``created_by`` is an object in key lists, an id
    elsewhere."""
    created_by = raw.get("created_by")
    if isinstance(created_by, Mapping):
        return _text(created_by.get("id"))
    return _text(created_by)


class FactsIndex:
    """Facts for every resource one sweep (or the store) knows, by type and id."""

    def __init__(self) -> None:
        self.organizations: dict[str, str | None] = {}  # id -> name
        self.projects: dict[str, _Project] = {}
        self.branches: dict[str, _Branch] = {}
        self.endpoints: dict[str, tuple[str, str, str | None]] = {}  # project, branch, name
        self.keys: dict[str, tuple[str | None, str | None, str | None, str | None]] = {}
        self.snapshots: dict[str, tuple[str, str | None]] = {}  # project, name

    @classmethod
    def of_snapshot(cls, snapshot: Snapshot) -> FactsIndex:
        index = cls()
        for org in snapshot.organizations:
            index.organizations[org.id] = org.name
        for project in snapshot.projects:
            index.projects[project.id] = _Project(project.name, project.org_id)
        annotations = snapshot.branch_annotations
        for branch in snapshot.branches:
            index.branches[branch.id] = _Branch(
                branch.project_id, branch.name, annotations.get(branch.id, {}), model=branch
            )
        for endpoint in snapshot.endpoints:
            # its name is the finding's (a compute's name is read from raw only to list it)
            index.endpoints[endpoint.id] = (endpoint.project_id, endpoint.branch_id, None)
        for record in snapshot.api_keys:
            raw = record.key.raw
            index.keys[str(record.key.id)] = (
                record.org_id,
                record.project_id,
                record.key.name,
                key_creator(raw),
            )
        for item in snapshot.snapshots:
            index.snapshots[item.id] = (item.project_id, item.name)
        return index

    @classmethod
    def of_resources(cls, resources: Iterable[StoredResource]) -> FactsIndex:
        """From the store's latest view (``resources`` table); annotations as stored."""
        index = cls()
        for resource in resources:
            raw, rid = resource.raw, resource.resource_id
            if resource.resource_type == "organization":
                index.organizations[rid] = resource.name
            elif resource.resource_type == "project":
                index.projects[rid] = _Project(resource.name, resource.org_id)
            elif resource.resource_type == "branch" and resource.project_id is not None:
                index.branches[rid] = _Branch(
                    resource.project_id,
                    resource.name,
                    _stored_annotations(raw),
                    _text(raw.get("creation_source")),
                )
            elif resource.resource_type == "endpoint" and resource.project_id is not None:
                branch_id = _text(raw.get("branch_id")) or ""
                index.endpoints[rid] = (resource.project_id, branch_id, resource.name)
            elif resource.resource_type == "api_key":
                index.keys[rid] = (
                    resource.org_id,
                    resource.project_id,
                    resource.name,
                    key_creator(raw),
                )
        return index

    def facts(
        self,
        resource_type: str,
        resource_id: str,
        *,
        org_id: str | None = None,
        project_id: str | None = None,
        name: str | None = None,
    ) -> ResourceFacts:
        """The facts of one resource; ``org_id``/``project_id``/``name`` (a finding's) fill
        in what the index does not know (a resource it never saw)."""
        branch: _Branch | None = None
        branch_id: str | None = None
        key_by: str | None = None
        own_name = name
        if resource_type == "branch":
            branch_id = resource_id
        elif resource_type == "endpoint" and resource_id in self.endpoints:
            endpoint_project, branch_id, endpoint_name = self.endpoints[resource_id]
            project_id = project_id or endpoint_project
            own_name = own_name or endpoint_name
        elif resource_type == "api_key" and resource_id in self.keys:
            key_org, key_project, key_name, key_by = self.keys[resource_id]
            org_id, project_id = org_id or key_org, project_id or key_project
            own_name = own_name or key_name
        elif resource_type == "snapshot" and resource_id in self.snapshots:
            snapshot_project, snapshot_name = self.snapshots[resource_id]
            project_id = project_id or snapshot_project
            own_name = own_name or snapshot_name
        elif resource_type == "project":
            project_id = project_id or resource_id
        elif resource_type == "organization":
            org_id = org_id or resource_id
            own_name = own_name or self.organizations.get(resource_id)
        if branch_id is not None:
            branch = self.branches.get(branch_id)
            if branch is not None:
                project_id = project_id or branch.project_id
        project = self.projects.get(project_id) if project_id is not None else None
        if project is not None:
            org_id = org_id or project.org_id
        if resource_type == "project" and project is not None:
            own_name = own_name or project.name
        if resource_type == "branch" and branch is not None:
            own_name = own_name or branch.name
        return ResourceFacts(
            resource_type=resource_type,
            resource_id=resource_id,
            org_id=org_id,
            project_id=project_id,
            project_name=project.name if project is not None else None,
            branch_name=branch.name if branch is not None else None,
            annotations=branch.annotations if branch is not None else {},
            creation_source=branch.creation_source if branch is not None else None,
            key_creator=key_by,
            name=own_name,
        )

    def every(self) -> Iterator[ResourceFacts]:
        """Facts of every resource known, organizations first, then by type and id."""
        kinds: tuple[tuple[str, Iterable[str]], ...] = (
            ("organization", self.organizations),
            ("project", self.projects),
            ("branch", self.branches),
            ("endpoint", self.endpoints),
            ("api_key", self.keys),
            ("snapshot", self.snapshots),
        )
        for resource_type, ids in kinds:
            for resource_id in sorted(ids):
                yield self.facts(resource_type, resource_id)
