"""What a filter sees of each resource: its API object plus the derived fields.

Lookups (endpoints by branch, children by parent, counts per project) are built once per
snapshot, so evaluating many policies over thousands of branches stays linear; the views
themselves are built on demand and not kept (``SnapshotIndex.iter_views``).
See ``governor.policy.fields`` for what each derived field means.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from governor.model.snapshot import KeyRecord, ResourceType, Snapshot
from governor.neon.models import Branch, Endpoint, Organization, Project, ProjectSnapshot
from governor.policy.operators import parse_timestamp
from governor.rules.compute import lowest_valid_min

if TYPE_CHECKING:  # governor.savings imports this module: no import cycle at run time
    from governor.savings.usage import Usage

# Child branches each plan includes: its included branches minus the root (note L8).
INCLUDED_CHILD_BRANCHES: dict[str, int] = {"launch": 9, "scale": 24}
# The backup an instant restore leaves: ``<branch>_old_<RFC 3339 time>`` (note L7).
_BACKUP_NAME = re.compile(r"^.+_old_(?P<taken>\d{4}-\d{2}-\d{2}T\S+)$")
BRANCHES_CREATED_WINDOW = timedelta(days=30)
MAX_SCALE_TO_ZERO_CU = 16  # fixed computes above 16 CU never scale to zero
# The Free plan's object limits (note L14): branches per project, compute size, root data.
FREE_MAX_BRANCHES, FREE_MAX_CU, FREE_MAX_ROOT_BYTES, FREE_MAX_PROJECTS = 10, 2, 500_000_000, 100
# A project's fields counted over its branches: unknown when its branches were not all read.
_BRANCH_COUNTS = (
    "has_protected_branch",
    "child_branch_count",
    "extra_child_branches",
    "branches_created_30d",
)
SCALE_ONLY_TIMEOUTS = frozenset({0, 300, -1})  # Launch may set only these
LAUNCH_MAX_RETENTION_SECONDS = 604800


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


def backup_taken_at(name: object) -> datetime | None:
    """The time in a ``<branch>_old_<RFC 3339 time>`` name (an instant restore's backup)."""
    match = _BACKUP_NAME.match(name) if isinstance(name, str) else None
    return parse_timestamp(match.group("taken")) if match else None


def schedule_without_retention(schedule: Mapping[str, Any] | None) -> bool | None:
    """Whether a backup schedule keeps some snapshots forever (None: not read)."""
    if schedule is None:
        return None
    items = schedule.get("schedule")
    if not isinstance(items, list):
        return False
    return any(
        not isinstance(item, Mapping) or item.get("retention_seconds") is None for item in items
    )


def scales_to_zero(endpoint: Endpoint) -> bool:
    """Whether the compute suspends when idle: a timeout other than -1, at most 16 CU."""
    return (
        endpoint.suspend_timeout_seconds != -1
        and endpoint.autoscaling_limit_max_cu <= MAX_SCALE_TO_ZERO_CU
    )


def _setting(raw: object, *path: str) -> Any:
    value: Any = raw
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


@dataclass
class ProjectTally:
    """What an organization's view sums over one project's branches and computes.

    Why apart: a streamed audit (``governor.pipeline.stream``) judges projects a batch at a
    time and its organizations at the end, from these tallies alone; the in-memory path
    builds the same tallies, so both judge an organization alike."""

    branches: int = 0
    children: int = 0
    features: frozenset[str] = frozenset()  # Scale-only features its computes use
    above_free_cu: bool = False  # a compute above Free's maximum size
    has_root: bool = False
    root_unknown: bool = False  # a root branch without a logical size
    root_bytes: int = 0  # its root branches' logical sizes, summed

    def merged(self, other: ProjectTally) -> ProjectTally:
        return ProjectTally(
            self.branches + other.branches,
            self.children + other.children,
            self.features | other.features,
            self.above_free_cu or other.above_free_cu,
            self.has_root or other.has_root,
            self.root_unknown or other.root_unknown,
            self.root_bytes + other.root_bytes,
        )


def project_tallies(
    branches: Iterable[Branch], endpoints: Iterable[Endpoint]
) -> dict[str, ProjectTally]:
    """Each project's tally over ``branches`` and ``endpoints`` (by their ``project_id``)."""
    tallies: dict[str, ProjectTally] = defaultdict(ProjectTally)
    for branch in branches:
        tally = tallies[branch.project_id]
        tally.branches += 1
        if branch.parent_id:
            tally.children += 1
        else:
            tally.has_root = True
            if branch.logical_size is None:
                tally.root_unknown = True
            else:
                tally.root_bytes += branch.logical_size
    for endpoint in endpoints:
        tally = tallies[endpoint.project_id]
        features = set(tally.features)
        if endpoint.suspend_timeout_seconds not in SCALE_ONLY_TIMEOUTS:
            features.add("suspend timeout outside 0, 300 and -1")
        if endpoint.autoscaling_limit_max_cu > MAX_SCALE_TO_ZERO_CU:
            features.add("compute above 16 CU")
        if len(features) != len(tally.features):
            tally.features = frozenset(features)
        if endpoint.autoscaling_limit_max_cu > FREE_MAX_CU:
            tally.above_free_cu = True
    return dict(tallies)


class SnapshotIndex:
    """Lookups over one snapshot, computed once and shared by evaluation and savings.

    ``usage``: Neon's meters (``governor.savings.usage``), for the fields measured from
    consumption (a compute kept awake); without it those fields are absent.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        usage: Usage | None = None,
        *,
        tallies: Mapping[str, ProjectTally] | None = None,
    ) -> None:
        """``tallies``: the projects' tallies when ``snapshot`` holds no branches or computes
        (a streamed audit's organizations and keys, judged at the end)."""
        self.snapshot = snapshot
        self.usage = usage
        self._tallies = tallies
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
        self.child_branches_per_project = Counter(
            branch.project_id for branch in snapshot.branches if branch.parent_id
        )
        created_since = parse_timestamp(snapshot.taken_at - BRANCHES_CREATED_WINDOW)
        created = ((branch, parse_timestamp(branch.created_at)) for branch in snapshot.branches)
        self.branches_created_30d = Counter(  # parse_timestamp: a zone-less time is UTC
            branch.project_id
            for branch, moment in created
            if moment is not None and created_since is not None and moment >= created_since
        )
        self.projects_with_protected_branch = {
            branch.project_id for branch in snapshot.branches if branch.protected
        }
        # projects whose branches or computes were not all read, and organizations whose
        # project list was not: counts over them would claim "none" where Neon may have some
        self.unread_projects = {
            part.project_id
            for part in snapshot.incomplete
            if part.kind in ("branches", "endpoints") and part.project_id is not None
        }
        self.unread_orgs = {
            part.org_id
            for part in snapshot.incomplete
            if part.kind in ("organizations", "projects")
        }
        if tallies is not None:
            for project_id, tally in tallies.items():
                self.branches_per_project[project_id] = tally.branches
                self.child_branches_per_project[project_id] = tally.children
        self._project_facts: dict[str, tuple[str | None, bool]] | None = None
        self._kept_awake: dict[str, tuple[float | None, float | None, float | None]] = {}

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
        if resource_type == "organization":
            return map(self._organization_view, self.snapshot.organizations)
        if resource_type == "snapshot":
            return map(self._snapshot_view, self.snapshot.snapshots)
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
        if resource_type == "organization":
            organization = self.organizations.get(resource_id)
            return self._organization_view(organization) if organization is not None else None
        if resource_type == "snapshot":
            found = next((item for item in self.snapshot.snapshots if item.id == resource_id), None)
            return self._snapshot_view(found) if found is not None else None
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
        plan, logical = self.project_facts().get(project.id, (None, False))
        values["plan"] = plan
        values["logical_replication"] = logical
        values["has_protected_branch"] = project.id in self.projects_with_protected_branch
        children = self.child_branches_per_project[project.id]
        values["child_branch_count"] = children
        included = INCLUDED_CHILD_BRANCHES.get(plan) if plan is not None else None
        values["included_child_branches"] = included
        values["extra_child_branches"] = None if included is None else max(0, children - included)
        defaults = values.get("default_endpoint_settings")
        values["default_suspend_timeout_seconds"] = _setting(defaults, "suspend_timeout_seconds")
        values["default_min_cu"] = _setting(defaults, "autoscaling_limit_min_cu")
        values["branches_created_30d"] = self.branches_created_30d[project.id]
        if project.id in self.unread_projects:
            for name in _BRANCH_COUNTS:
                values[name] = None
        return ResourceView("project", project.id, project.name, project.org_id, project.id, values)

    def project_facts(self) -> dict[str, tuple[str | None, bool]]:
        """Each project's billing plan id and whether logical replication is on (built once:
        the project objects are decoded for it)."""
        from governor.savings.billing_plan import billing_plan  # see the TYPE_CHECKING note

        if self._project_facts is None:
            facts: dict[str, tuple[str | None, bool]] = {}
            for project in self.snapshot.projects:
                raw = project.raw
                organization = self.organizations.get(project.org_id or "")
                plan, _why = billing_plan(
                    organization.raw if organization is not None else None, raw
                )
                logical = _setting(raw, "settings", "enable_logical_replication") is True
                facts[project.id] = (plan, logical)
            self._project_facts = facts
        return self._project_facts

    def _branch_view(self, branch: Branch) -> ResourceView:
        computes = self.endpoints_by_branch.get(branch.id, [])
        org_id = self._org_of(branch.project_id)
        values = branch.raw
        values["org_id"] = org_id
        values["project_name"] = self._project_name(branch.project_id)
        values["last_activity"] = branch_activity(computes)
        values["has_children"] = self.children[(branch.project_id, branch.id)] > 0
        values["compute_count"] = len(computes)
        values["is_root"] = not branch.parent_id
        values["backup_taken_at"] = backup_taken_at(branch.name)
        values["backup_schedule_without_retention"] = schedule_without_retention(
            self.snapshot.backup_schedules.get(branch.id)
        )
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
        active, at_floor, measured = self.kept_awake(endpoint.branch_id)
        values["active_share_7d"] = active
        values["floor_share_7d"] = at_floor
        values["hours_measured_7d"] = measured
        values["branch_scales_to_zero"] = all(
            map(scales_to_zero, self.endpoints_by_branch.get(endpoint.branch_id, [endpoint]))
        )
        _plan, logical = self.project_facts().get(endpoint.project_id, (None, None))
        values["logical_replication"] = logical
        values["activations_30d"] = self.snapshot.activations.get(endpoint.id)
        return ResourceView(
            "endpoint", endpoint.id, name or endpoint.id, org_id, endpoint.project_id, values
        )

    def kept_awake(self, branch_id: str) -> tuple[float | None, float | None, float | None]:
        """The branch's share of the last 168 hours with compute, the share of those at its
        computes' floor, and the hours measured (Nones: its meters were not read)."""
        known = self._kept_awake.get(branch_id)
        if known is not None:
            return known
        answer: tuple[float | None, float | None, float | None] = (None, None, None)
        floor_cu = sum(
            e.autoscaling_limit_min_cu for e in self.endpoints_by_branch.get(branch_id, [])
        )
        hours = self.usage.floor_hours(branch_id, floor_cu) if self.usage is not None else None
        if hours is not None and hours.window_hours > 0:
            at_floor = hours.floor_hours / hours.active_hours if hours.active_hours else 0.0
            answer = (hours.active_hours / hours.window_hours, at_floor, hours.window_hours)
        self._kept_awake[branch_id] = answer
        return answer

    def _organization_view(self, organization: Organization) -> ResourceView:
        from governor.savings.billing_plan import billing_plan  # see the TYPE_CHECKING note

        values = organization.raw
        projects = [p for p in self.snapshot.projects if p.org_id == organization.id]
        facts = self.project_facts()
        plans = [facts[p.id][0] for p in projects if facts.get(p.id, (None, False))[0]]
        plan = plans[0] if plans else billing_plan(values, None)[0]
        values["org_id"] = organization.id
        values["plan"] = plan
        values["project_count"] = len(projects)
        read = organization.id in self.snapshot.spending_limits
        values["spending_limit_read"] = read
        values["spending_limit_cents"] = self.snapshot.spending_limits.get(organization.id)
        features = self._scale_features(projects)
        values["scale_features_used"] = features
        values["scale_feature_count"] = len(features)
        values["within_free_limits"] = self._within_free_limits(projects)
        if (
            organization.id in self.unread_orgs
            or None in self.unread_orgs
            or any(project.id in self.unread_projects for project in projects)
        ):
            for name in ("project_count", "scale_features_used", "scale_feature_count"):
                values[name] = None
            values["within_free_limits"] = None
        return ResourceView(
            "organization", organization.id, organization.name, organization.id, None, values
        )

    def project_tallies(self) -> Mapping[str, ProjectTally]:
        """Each project's tally (given, or built once from the snapshot's branches)."""
        if self._tallies is None:
            self._tallies = project_tallies(self.snapshot.branches, self.snapshot.endpoints)
        return self._tallies

    def _scale_features(self, projects: list[Project]) -> list[str]:
        """The Scale-only features the projects use (note L14), in a fixed order."""
        used: set[str] = set()
        if len(projects) > FREE_MAX_PROJECTS:
            used.add("more than 100 projects")
        tallies = self.project_tallies()
        for project in projects:
            tally = tallies.get(project.id)
            if tally is not None:
                used |= tally.features
        for project in projects:
            raw = project.raw
            retention = raw.get("history_retention_seconds")
            if isinstance(retention, int) and retention > LAUNCH_MAX_RETENTION_SECONDS:
                used.add("restore window above 7 days")
            allowed = _setting(raw, "settings", "allowed_ips")
            ips = allowed.get("ips") if isinstance(allowed, Mapping) else allowed
            if isinstance(ips, list) and ips:
                used.add("IP allow list")
            if _setting(raw, "settings", "block_public_connections") is True:
                used.add("blocked public connections")
            if _setting(raw, "settings", "hipaa") is True or raw.get("hipaa_enabled_at"):
                used.add("HIPAA")
        return sorted(used)

    def _within_free_limits(self, projects: list[Project]) -> bool | None:
        """Every project inside Free's object limits; None when a root's size is unknown.

        Object fields only: Free's 100 CU-hours and 5 GB of transfer are metered, so the
        plan-fit estimate (measured) says whether the usage fits too."""
        if len(projects) > FREE_MAX_PROJECTS:
            return False
        tallies = self.project_tallies()
        mine = [
            tallies[p.id]
            for p in {project.id: project for project in projects}.values()
            if p.id in tallies
        ]
        if any(tally.branches > FREE_MAX_BRANCHES for tally in mine):
            return False
        if any(tally.above_free_cu for tally in mine):
            return False
        if any(tally.root_unknown for tally in mine):
            return None
        return all(tally.root_bytes <= FREE_MAX_ROOT_BYTES for tally in mine if tally.has_root)

    def _snapshot_view(self, item: ProjectSnapshot) -> ResourceView:
        values = item.raw
        org_id = self._org_of(item.project_id)
        values["project_id"] = item.project_id
        values["org_id"] = org_id
        values["project_name"] = self._project_name(item.project_id)
        return ResourceView("snapshot", item.id, item.name, org_id, item.project_id, values)

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
