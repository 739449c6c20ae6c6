"""What a sweep collected, and how it becomes a ``Snapshot``: scope, 403s, duplicates, minimum.

Why apart from the walk: the walk is I/O (who reads what, when); this is pure bookkeeping
over its results, done once every answer is in.

The minimum (``Snapshot.minimum_requests``) is the fewest requests that read the world the
sweep saw, the way this sweep must read it: the organization list (or each named
organization), the personal key list (it is how the key's scope is learnt), each
organization's key list, one project page per 400 projects plus the page that shows the
list ended, per project one branch page per 10,000 branches and one compute list, and a
detail read only for the projects a loaded policy needs it for (``governor.pipeline.detail``)
or that the list reported as unavailable. Retries and extra pages are not in it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from governor.model.snapshot import IncompletePart, KeyRecord, KeyScope, PartKind, Snapshot
from governor.neon.errors import NeonApiError, NeonAuthError, NeonError, NeonNotFound, auth_hint
from governor.neon.ids import shown
from governor.neon.models import ApiKey, Branch, Endpoint, Organization, Project, ProjectSnapshot
from governor.neon.reads import BRANCHES_PAGE_SIZE, PROJECTS_PAGE_SIZE
from governor.sweep.spool import ProjectSpool

ItemT = TypeVar("ItemT")

logger = logging.getLogger("governor.sweep")
# Beyond this, "30 days idle" measured on our clock is not what Neon's clock says.
CLOCK_SKEW_WARNING_SECONDS = 300.0
VISIBLE_LISTED = 20  # organizations named in a refusal; more are counted


_SPILLED: list[Any] = []
_SPILLED_MAP: dict[str, Any] = {}


@dataclass(slots=True)  # one per project, kept for the whole run: no __dict__ each
class ProjectResult:
    project: Project | None
    branches: list[Branch] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    minimum_requests: int = 0  # this project's share of the minimum
    detailed: bool = False  # ``project`` came from GET /projects/{id}
    # detail a loaded policy wants (governor.pipeline.detail): absent when not read
    snapshots: list[ProjectSnapshot] = field(default_factory=list)
    backup_schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    activations: dict[str, int] = field(default_factory=dict)
    # branch id -> annotation values, from the branch listing (owner rules match on them)
    branch_annotations: dict[str, dict[str, str]] = field(default_factory=dict)
    spooled: tuple[int, int] | None = None  # where ``spill`` put the bulk above
    roots: tuple[tuple[str, str, str | None, int | None], ...] = ()  # ``Spooled.roots``

    def spill(self, spool: ProjectSpool) -> None:
        """The branches, computes and detail into ``spool``; only the project stays here."""
        self.roots = tuple(
            (branch.id, branch.project_id, branch.parent_id, branch.logical_size)
            for branch in self.branches
            if not branch.parent_id
        )
        self.spooled = spool.put(
            (
                self.branches,
                self.endpoints,
                self.snapshots,
                self.backup_schedules,
                self.activations,
                self.branch_annotations,
            )
        )
        # shared empties, never changed: six new containers per project, long-lived among
        # the project's freed objects, would keep the memory around them from being reused
        self.branches, self.endpoints, self.snapshots = _SPILLED, _SPILLED, _SPILLED
        self.backup_schedules = self.activations = self.branch_annotations = _SPILLED_MAP


@dataclass
class OrgResult:
    org_id: str | None  # None: the key's projects without org_id (scope inferred)
    organization: Organization | None = None
    projects: dict[str, ProjectResult] = field(default_factory=dict)
    api_keys: list[ApiKey] = field(default_factory=list)
    # 403s whose meaning depends on the key's scope, known only at the end
    api_keys_error: NeonApiError | None = None
    details_error: NeonApiError | None = None
    inferred: bool = False  # found through its projects, not asked for or listed
    named: bool = False  # asked for by id: its details are one request of their own
    not_found: NeonNotFound | None = None  # asked for by id and answered 404: not this key's?
    children: list[OrgResult] = field(default_factory=list)
    spending_limit_read: bool = False  # read, and offered on the organization's plan
    extra_requests: int = 0  # detail a policy wanted of the organization (spending limit)
    spending_limit_cents: int | None = None


class OrganizationNotVisible(NeonError):
    """Organizations asked for by id (``--org``, ``organizations``) that the key cannot see.

    Why not an incomplete part: a typo or another account's id is a setup error (exit 2),
    and sweeping the rest would report on less than was asked for as if it were all.
    """

    def __init__(
        self, org_ids: list[str], visible: list[Organization] | None, source: str = ""
    ) -> None:
        self.org_ids = org_ids
        self.visible = visible
        self.source = source
        names = ("organization " if len(org_ids) == 1 else "organizations ") + ", ".join(
            map(shown, org_ids)
        )
        if source:
            names += f" ({source})"
        if visible is None:
            seen = (
                "it cannot list the organizations it sees (`neon-governor inventory` shows "
                "what it can read)"
            )
        elif not visible:
            seen = "visible: none (the key sees no organization)"
        else:
            listed = [f"{org.id} ({org.name})" for org in visible[:VISIBLE_LISTED]]
            more = len(visible) - len(listed)
            seen = "visible: " + ", ".join(listed) + (f" and {more} more" if more > 0 else "")
        super().__init__(f"{names} not visible to this key; {seen}")

    def named_by(self, source: str) -> OrganizationNotVisible:
        """The same refusal, saying where the ids came from (``--org``, the config)."""
        return type(self)(self.org_ids, self.visible, source)


def branch_pages(branches: int) -> int:
    """The fewest branch pages that list ``branches`` (the last page may be short or full)."""
    return max(1, math.ceil(branches / BRANCHES_PAGE_SIZE))


def minimum_requests(orgs: list[OrgResult], *, listed_organizations: bool) -> int:
    """The fewest requests for the world in ``orgs`` (module docstring)."""
    total = 2 if listed_organizations else 1  # the personal keys, and the org list
    for org in orgs:
        if org.org_id is not None:
            total += 1 + (1 if org.named else 0)  # its keys, and its details when named
        total += len(org.projects) // PROJECTS_PAGE_SIZE + 1
        total += sum(record.minimum_requests for record in org.projects.values())
        total += 2 * len(org.children)  # an inferred organization's details and keys
        total += org.extra_requests + sum(child.extra_requests for child in org.children)
    return total


def inferred_org_ids(result: OrgResult) -> list[str]:
    found: list[str] = []
    for record in result.projects.values():
        org_id = record.project.org_id if record.project is not None else None
        if org_id and org_id not in found:
            found.append(org_id)
    return found


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error of a task group (auth errors first), unwrapped."""
    leaves: list[BaseException] = []

    def collect(item: BaseException) -> None:
        if isinstance(item, BaseExceptionGroup):
            for inner in item.exceptions:
                collect(inner)
        else:
            leaves.append(item)

    collect(group)
    for leaf in leaves:
        if isinstance(leaf, NeonAuthError):
            return leaf
    return leaves[0]


class Deduplicator:
    """Keeps the first object of each id; counts what it drops."""

    def __init__(self) -> None:
        self.duplicates = 0

    def first_of_each(
        self, items: Iterable[ItemT], id_of: Callable[[ItemT], Hashable]
    ) -> list[ItemT]:
        seen: set[Hashable] = set()
        kept: list[ItemT] = []
        for item in items:
            item_id = id_of(item)
            if item_id in seen:
                self.duplicates += 1
            else:
                seen.add(item_id)
                kept.append(item)
        return kept


def settle_scope(
    orgs: list[OrgResult],
    personal_keys: list[ApiKey] | None,
    scope: KeyScope | None,
    incomplete: list[IncompletePart],
) -> KeyScope | None:
    """The key's scope, now that every answer is in; the 403s that matter go to ``incomplete``."""
    every = [*orgs, *(child for org in orgs for child in org.children)]
    if scope is None and personal_keys is None:
        read_org = any(
            org.organization is not None or (org.org_id is not None and not org.api_keys_error)
            for org in every
        )
        refused_org = any(org.api_keys_error is not None for org in every)
        if read_org:
            scope = "organization"
        elif refused_org:
            scope = "project"
    for org in every:
        for kind, error in (
            ("api_keys", org.api_keys_error),
            ("organizations", org.details_error),
        ):
            if error is None or scope == "project":
                continue  # a project key has no business with organizations
            if kind == "organizations" and org.inferred:
                continue  # only its plan is unknown; the key cannot read it by design
            rehinted = error.with_hint(auth_hint(error.status, scope))
            part_kind: PartKind = "api_keys" if kind == "api_keys" else "organizations"
            incomplete.append(IncompletePart(part_kind, str(rehinted), org.org_id))
    return scope


def build_snapshot(
    orgs: list[OrgResult],
    personal_keys: list[ApiKey] | None,
    taken_at: datetime,
    dedup: Deduplicator,
) -> Snapshot:
    """Every object once (the first seen); requests, scope and skew are the caller's to set."""
    snapshot = Snapshot(taken_at=taken_at)
    every = [*orgs, *(child for org in orgs for child in org.children)]
    organizations = [org.organization for org in every if org.organization is not None]
    snapshot.organizations = dedup.first_of_each(organizations, lambda org: org.id)
    snapshot.org_ids = list(dict.fromkeys(org.org_id for org in every if org.org_id is not None))
    records = [record for org in orgs for record in org.projects.values()]
    projects = [record.project for record in records if record.project is not None]
    snapshot.projects = dedup.first_of_each(projects, lambda project: project.id)
    branches = (branch for record in records for branch in record.branches)
    snapshot.branches = dedup.first_of_each(branches, lambda branch: branch.id)
    endpoints = (endpoint for record in records for endpoint in record.endpoints)
    snapshot.endpoints = dedup.first_of_each(endpoints, lambda endpoint: endpoint.id)
    keys = [KeyRecord(key, "personal", None) for key in personal_keys or []]
    for org in every:
        for key in org.api_keys:
            scope: KeyScope = "project" if key.project_id else "organization"
            keys.append(KeyRecord(key, scope, org.org_id))
    snapshot.api_keys = dedup.first_of_each(keys, lambda record: record.key.id)
    for record in records:
        snapshot.snapshots.extend(record.snapshots)
        for branch_id, schedule in record.backup_schedules.items():
            snapshot.backup_schedules.setdefault(branch_id, schedule)
        for endpoint_id, count in record.activations.items():
            snapshot.activations.setdefault(endpoint_id, count)
        for branch_id, values in record.branch_annotations.items():
            snapshot.branch_annotations.setdefault(branch_id, values)
    snapshot.snapshots = dedup.first_of_each(snapshot.snapshots, lambda item: item.id)
    for org in every:
        if org.org_id is not None and org.spending_limit_read:
            snapshot.spending_limits.setdefault(org.org_id, org.spending_limit_cents)
    if dedup.duplicates:
        logger.warning(
            "Neon listed objects more than once; kept the first of each, dropped %d",
            dedup.duplicates,
        )
    return snapshot


def warn_about_skew(skew: float | None) -> None:
    if skew is not None and abs(skew) > CLOCK_SKEW_WARNING_SECONDS:
        logger.warning(
            "Neon's clock (its Date header) is %+.0f s (%+.1f h) off this machine's: "
            "ages measured here may be wrong; check the machine's clock",
            skew,
            skew / 3600,
        )
