"""The inventory snapshot: everything one sweep saw, and what it could not see.

Why a separate module: the sweep (I/O) produces it, the policy engine, savings estimates
and the store (pure or local) consume it. Unknown is never "gone": every part the sweep
could not read is listed in ``incomplete`` and ``covers()`` answers False for it, so a
later stage can keep earlier findings about it as they were.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple, TextIO, TypeVar

from governor.neon.models import (
    ApiKey,
    Branch,
    Endpoint,
    Organization,
    Project,
    ProjectSnapshot,
)

ObjectT = TypeVar("ObjectT", Organization, Project, Branch, Endpoint, ProjectSnapshot)
ResourceType = Literal["organization", "project", "branch", "endpoint", "api_key", "snapshot"]
KeyScope = Literal["personal", "organization", "project"]
# What a sweep can fail to read. "organizations": the organization list itself;
# "projects": one organization's project list (org_id set; project_id set when the API
# reported that one project as unavailable); "project", "branches", "endpoints": one
# project's details (project_id set); "api_keys": personal keys (org_id None) or one
# organization's keys. Read only when a loaded policy wants them: "snapshots" (one
# project's snapshot list), "backup_schedules" (a project's branches' schedules),
# "operations" (a project's start_compute operations: endpoint activations), all with
# project_id set; "spending_limit" (one organization's, org_id set).
PartKind = Literal[
    "organizations",
    "projects",
    "project",
    "branches",
    "endpoints",
    "api_keys",
    "snapshots",
    "backup_schedules",
    "spending_limit",
    "operations",
]
# The resource type whose fields each detail part fills: unread, its resources are not
# covered (a finding about them is kept as it was, not resolved).
_DETAIL_PART_RESOURCE: dict[str, ResourceType] = {
    "snapshots": "snapshot",
    "backup_schedules": "branch",
    "operations": "endpoint",
    "spending_limit": "organization",
}


@dataclass(frozen=True)
class KeyRecord:
    """An API key with where it came from: the API objects do not say."""

    key: ApiKey
    scope: KeyScope
    org_id: str | None  # None for personal keys

    @property
    def project_id(self) -> str | None:
        return self.key.project_id


@dataclass(frozen=True)
class IncompletePart:
    kind: PartKind
    reason: str
    org_id: str | None = None
    project_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "org_id": self.org_id,
            "project_id": self.project_id,
            "reason": self.reason,
        }


class Spooled(NamedTuple):
    """One project record of a spooled sweep: its project (None: unavailable, unread),
    where its bulk went, and its root branches' (id, project id, parent id, logical size),
    which the consumption calibration reads before the bulk is read back."""

    project: Project | None
    where: tuple[int, int] | None
    roots: tuple[tuple[str, str, str | None, int | None], ...] = ()


@dataclass
class Snapshot:
    taken_at: datetime
    organizations: list[Organization] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    api_keys: list[KeyRecord] = field(default_factory=list)
    incomplete: list[IncompletePart] = field(default_factory=list)
    requests: int = 0
    # the fewest requests that could have read what the sweep saw (no retries, no detail
    # read a loaded policy did not need); see governor.sweep.minimum
    minimum_requests: int = 0
    # projects read with GET /projects/{id} (the rest are project list items): a snapshot
    # stands in for a new sweep only if it holds every detail the policies need
    detailed_project_ids: set[str] = field(default_factory=set)
    # org ids the sweep was asked to cover (all visible ones when none were named)
    org_ids: list[str] = field(default_factory=list)
    # what the sweep learnt the key to be (None: could not tell, or several accounts)
    key_scope: KeyScope | None = None
    # how far the server's clock (its Date header) was ahead of ours; None: not known
    clock_skew_seconds: float | None = None
    # several accounts: which one read each project ("project:<id>") and key ("key:<id>"),
    # so a remediation is recorded, re-read and sent under that account's key
    read_by: dict[str, str] = field(default_factory=dict)
    # detail read only where a loaded policy wants it (governor.pipeline.detail); an
    # unread part is absent here and, when its read failed, listed in ``incomplete``
    snapshots: list[ProjectSnapshot] = field(default_factory=list)
    # branch id -> the API's {"schedule": [...]}
    backup_schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # branch id -> its annotations' values (``GET .../branches`` lists them beside the
    # branches); strings, bounded: integrations write them, and owner rules match on them
    branch_annotations: dict[str, dict[str, str]] = field(default_factory=dict)
    # org id -> spending_limit_cents; None: none set; key absent: not read or not offered
    spending_limits: dict[str, int | None] = field(default_factory=dict)
    # endpoint id -> start_compute operations in the last 30 days
    activations: dict[str, int] = field(default_factory=dict)
    # the detail kinds the sweep was asked to read ("snapshots", "backup_schedules",
    # "operations", "spending_limit"): a snapshot without one cannot stand in for a sweep
    # whose policies want it (an empty dict above may mean "none" or "not read")
    detail_kinds_read: set[str] = field(default_factory=set)
    # swept into a spool (``governor.sweep.spool``): every project record in the order
    # listed, with where its branches, computes and detail went (those lists above are
    # then empty); the pipeline reads them back a batch at a time
    spooled: list[Spooled] = field(default_factory=list, repr=False)

    @property
    def complete(self) -> bool:
        return not self.incomplete

    @classmethod
    def merged(cls, parts: list[Snapshot], *, taken_at: datetime) -> Snapshot:
        """One snapshot of several accounts' sweeps, each object once (the first seen).

        Neon's ids are global, but two accounts may both see one organization.
        """
        if len(parts) == 1:
            return parts[0]
        merged = cls(taken_at=taken_at)
        for part in parts:
            merged.organizations.extend(_new(merged.organizations, part.organizations))
            merged.projects.extend(_new(merged.projects, part.projects))
            merged.branches.extend(_new(merged.branches, part.branches))
            merged.endpoints.extend(_new(merged.endpoints, part.endpoints))
            merged.snapshots.extend(_new(merged.snapshots, part.snapshots))
            for name in (
                "backup_schedules",
                "branch_annotations",
                "spending_limits",
                "activations",
            ):
                mine, theirs = getattr(merged, name), getattr(part, name)
                mine.update((k, v) for k, v in theirs.items() if k not in mine)
            seen_keys = {record.key.id for record in merged.api_keys}
            merged.api_keys.extend(r for r in part.api_keys if r.key.id not in seen_keys)
            merged.incomplete.extend(part.incomplete)
            merged.spooled.extend(part.spooled)
            merged.requests += part.requests
            merged.minimum_requests += part.minimum_requests
            merged.org_ids.extend(org_id for org_id in part.org_ids if org_id not in merged.org_ids)
        skews = [part.clock_skew_seconds for part in parts if part.clock_skew_seconds is not None]
        merged.clock_skew_seconds = max(skews, key=abs, default=None)
        merged.detailed_project_ids = set().union(*(p.detailed_project_ids for p in parts))
        merged.detail_kinds_read = set.intersection(*(p.detail_kinds_read for p in parts))
        return merged

    def covers(
        self, resource_type: ResourceType, org_id: str | None, project_id: str | None
    ) -> bool:
        """Whether the sweep read the part where such a resource would live.

        False means: a resource missing from the snapshot there may still exist.
        """
        for part in self.incomplete:
            if part.kind == "organizations" and part.org_id in (None, org_id):
                # the organization list itself, or this one organization, is unknown
                return False
            detail_of = _DETAIL_PART_RESOURCE.get(part.kind)
            if detail_of is not None:
                if detail_of == resource_type and (
                    part.org_id == org_id
                    if part.kind == "spending_limit"
                    else part.project_id == project_id
                ):
                    return False
                continue
            if resource_type == "organization":
                # its derived fields (plan fit) sum over its projects
                if part.kind == "projects" and part.org_id == org_id:
                    return False
                continue
            if resource_type == "api_key":
                if part.kind == "api_keys" and part.org_id == org_id:
                    return False
                continue
            if (
                part.kind == "projects"
                and part.org_id == org_id
                and (part.project_id is None or part.project_id == project_id)
            ):
                return False
            if part.project_id is not None and part.project_id == project_id:
                if part.kind == "project" and resource_type == "project":
                    return False
                if part.kind == "branches" and resource_type in ("branch", "endpoint"):
                    # endpoint derived fields need the branch; be conservative
                    return False
                if part.kind == "endpoints" and resource_type in ("endpoint", "branch"):
                    # a branch's activity comes from its endpoints
                    return False
        return True

    def to_json(self) -> dict[str, Any]:
        """The ``inventory --format json`` document: API objects exactly as returned."""
        return {
            **self._json_head(),
            "organizations": [org.raw for org in self.organizations],
            "projects": [project.raw for project in self.projects],
            "branches": [branch.raw for branch in self.branches],
            "endpoints": [endpoint.raw for endpoint in self.endpoints],
            "api_keys": [record.key.raw for record in self.api_keys],
            **self._json_tail(),
        }

    def write_json(self, stream: TextIO, *, indent: int | None = 2) -> None:
        """``to_json()`` written to ``stream`` one object at a time: at 100,000 branches the
        document never exists whole in memory. The same JSON as ``json.dumps(to_json(),
        indent=indent)``, keys in the same order."""
        pad = " " * indent if indent is not None else ""
        newline = "\n" if indent is not None else ""
        separator = ": " if indent is not None else ":"
        compact = (",", ":") if indent is None else None

        def dumps(value: Any) -> str:
            return json.dumps(value, indent=indent, separators=compact)

        def member(name: str, value: Any, last: bool = False) -> None:
            text = dumps(value)
            if indent is not None:
                text = text.replace("\n", "\n" + pad)
            stream.write(f"{pad}{json.dumps(name)}{separator}{text}{'' if last else ','}{newline}")

        def array(name: str, items: Iterable[dict[str, Any]]) -> None:
            stream.write(f"{pad}{json.dumps(name)}{separator}[")
            first = True
            inner = pad * 2
            for item in items:
                text = dumps(item)
                if indent is not None:
                    text = text.replace("\n", "\n" + inner)
                stream.write(("" if first else ",") + newline + inner + text)
                first = False
            stream.write(("" if first else newline + pad) + "]," + newline)

        stream.write("{" + newline)
        for name, value in self._json_head().items():
            member(name, value)
        array("organizations", (org.raw for org in self.organizations))
        array("projects", (project.raw for project in self.projects))
        array("branches", (branch.raw for branch in self.branches))
        array("endpoints", (endpoint.raw for endpoint in self.endpoints))
        array("api_keys", (record.key.raw for record in self.api_keys))
        tail = list(self._json_tail().items())
        for position, (name, value) in enumerate(tail):
            member(name, value, last=position == len(tail) - 1)
        stream.write("}\n")

    def _json_head(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "requests": self.requests,
            "minimum_requests": self.minimum_requests,
            "taken_at": self.taken_at.isoformat(),
        }

    def _json_tail(self) -> dict[str, Any]:
        return {
            "api_key_scopes": [
                {
                    "id": record.key.id,
                    "scope": record.scope,
                    "org_id": record.org_id,
                    "project_id": record.project_id,
                }
                for record in self.api_keys
            ],
            # branch id -> annotation values: what [owners] rules can match on
            "branch_annotations": self.branch_annotations,
            "incomplete": [part.as_dict() for part in self.incomplete],
            "clock_skew_seconds": self.clock_skew_seconds,
        }


def _new(have: list[ObjectT], more: list[ObjectT]) -> list[ObjectT]:
    """The objects of ``more`` whose id is not in ``have`` yet, in order."""
    ids = {item.id for item in have}
    fresh = []
    for item in more:
        if item.id not in ids:
            ids.add(item.id)
            fresh.append(item)
    return fresh
