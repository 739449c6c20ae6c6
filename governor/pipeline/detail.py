"""When a sweep reads a project's detail (``GET /projects/{project_id}``), and for whom.

Why: the project list's items carry every field the shipped policies filter on, so a
detail read costs one request per project (a third of a sweep) for nothing, unless a
loaded policy needs a field only the detail has (``PROJECT_DETAIL_FIELDS``: the
consumption counters, ``owner``, ``maintenance_scheduled_for``). Two things can:

* a project policy whose filters name such a field: the detail is read for each project
  the policy can still select once every other field is known (the filter evaluated with
  the detail-only conditions unknown is not False, and the policy does not exclude it);
* the resize estimate, which reads the project's ``consumption_period_start``: the detail
  is read for a project where a policy with a resize action selects a compute whose
  estimate would use it (the compute scales to zero, the new minimum is lower, and its
  branch reports ``active_time_seconds``).

Both are judged on the project list item, the project's branches and its computes, which
the sweep has read by then.

The detail only some policies read (``EXTRA_FIELDS``) follows the same pattern: a project's
snapshots for any snapshot policy; a branch's backup schedule for the branches a policy
naming ``backup_schedule_without_retention`` can still select and that took a snapshot
kept for ever (``keeping_forever``; the project's snapshot list is read for it); a
project's operations
(start_compute counts) where a policy naming ``activations_30d`` (in its filters or its
evidence) can still select one of its computes; every organization's spending limit when
a policy names one. "Can still select": the filter with those fields, the detail-only
ones and the ones measured from consumption unknown is not False.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.model.actions import ResizeAction
from governor.model.snapshot import Snapshot
from governor.neon.models import Branch, Endpoint, Project, ProjectSnapshot
from governor.policy import Policy
from governor.policy.fields import detail_only
from governor.policy.filters import AllOf, Condition, Filter, Not, filter_fields
from governor.policy.matching import outcome
from governor.policy.operators import Outcome
from governor.policy.resources import ResourceView, SnapshotIndex
from governor.savings.compute import never_scales_to_zero
from governor.sweep import WantsDetail, WantsExtra

RESIZE_FIELD = "consumption_period_start"
# Fields filled by a read of their own, and the part kind that read is.
EXTRA_FIELDS: dict[str, dict[str, str]] = {
    "branch": {"backup_schedule_without_retention": "backup_schedules"},
    "endpoint": {"activations_30d": "operations"},
    "organization": {
        "spending_limit_cents": "spending_limit",
        "spending_limit_read": "spending_limit",
    },
}
# Measured from Neon's meters after the sweep: unknown while it runs.
MEASURED_FIELDS = frozenset({"active_share_7d", "floor_share_7d", "hours_measured_7d"})


@dataclass(frozen=True)
class DetailRule:
    """One loaded policy that needs project details, and why."""

    policy: Policy
    fields: tuple[str, ...]  # the detail-only fields it needs
    by_estimate: bool  # True: the resize estimate needs them, not the filters

    @property
    def reason(self) -> str:
        names = ", ".join(self.fields)
        if self.by_estimate:
            return (
                f"{self.policy.name}: its resize estimate reads the project's {names}; "
                "read for projects with a compute it selects"
            )
        return (
            f"{self.policy.name}: its filters name {names}; read for the projects it can "
            "select on the other fields"
        )


@dataclass(frozen=True)
class ExtraRule:
    """One loaded policy that needs a detail read of its own (``EXTRA_FIELDS``)."""

    policy: Policy
    kind: str  # "snapshots" | "backup_schedules" | "operations" | "spending_limit"
    fields: tuple[str, ...]

    @property
    def reason(self) -> str:
        if self.kind == "snapshots":
            return f"{self.policy.name}: reads each project's snapshots"
        names = ", ".join(self.fields)
        return f"{self.policy.name}: names {names}; read where it can select on the other fields"

    def unknown(self, field: str) -> bool:
        """Unknown while the sweep judges what to read."""
        resource = self.policy.resource
        return (
            field in EXTRA_FIELDS.get(resource, {})
            or field in MEASURED_FIELDS
            or detail_only(resource, field)
        )


def _extra_rules(policy: Policy) -> list[ExtraRule]:
    if policy.resource == "snapshot":
        return [ExtraRule(policy, "snapshots", ())]
    by_kind: dict[str, list[str]] = defaultdict(list)
    for field in policy.named_fields:
        kind = EXTRA_FIELDS.get(policy.resource, {}).get(field)
        if kind is not None:
            by_kind[kind].append(field)
    return [ExtraRule(policy, kind, tuple(fields)) for kind, fields in by_kind.items()]


@dataclass(frozen=True)
class DetailNeed:
    """The rules of every loaded policy that needs project details (none: never read)."""

    rules: tuple[DetailRule, ...] = ()
    extra_rules: tuple[ExtraRule, ...] = ()

    @classmethod
    def of(cls, policies: Sequence[Policy]) -> DetailNeed:
        rules: list[DetailRule] = []
        for policy in policies:
            fields = tuple(
                field
                for field in filter_fields(policy.filters)
                if detail_only(policy.resource, field)
            )
            if fields:
                rules.append(DetailRule(policy, fields, by_estimate=False))
            elif isinstance(policy.action, ResizeAction) and policy.resource == "endpoint":
                rules.append(DetailRule(policy, (RESIZE_FIELD,), by_estimate=True))
        extra = tuple(rule for policy in policies for rule in _extra_rules(policy))
        return cls(tuple(rules), extra)

    def _of_kind(self, kind: str) -> list[ExtraRule]:
        return [rule for rule in self.extra_rules if rule.kind == kind]

    def extras(self) -> WantsExtra | None:
        """What the sweep asks of each project and organization beyond the project detail
        (None: nothing)."""
        if not self.extra_rules:
            return None
        schedules, operations = self._of_kind("backup_schedules"), self._of_kind("operations")

        def wants_snapshots(
            project: Project,
            branches: Sequence[Branch],
            endpoints: Sequence[Endpoint],
            now: datetime,
        ) -> bool:
            return True  # a snapshot's own fields decide; none is known before the read

        def schedule_branches(
            project: Project,
            branches: Sequence[Branch],
            endpoints: Sequence[Endpoint],
            now: datetime,
            snapshots: Sequence[ProjectSnapshot] | None,
        ) -> list[str]:
            selectable = _selectable_ids(
                schedules, "branch", _seen(project, branches, endpoints, now)
            )
            return keeping_forever(selectable, snapshots)

        def wants_activations(
            project: Project,
            branches: Sequence[Branch],
            endpoints: Sequence[Endpoint],
            now: datetime,
        ) -> bool:
            return bool(
                _selectable_ids(operations, "endpoint", _seen(project, branches, endpoints, now))
            )

        # a schedule is judged on the project's snapshot list, so it is read for them too
        snapshots_wanted: WantsDetail | None = (
            wants_snapshots if self._of_kind("snapshots") or schedules else None
        )
        return WantsExtra(
            snapshots=snapshots_wanted,
            backup_schedules=schedule_branches if schedules else None,
            activations=wants_activations if operations else None,
            spending_limits=bool(self._of_kind("spending_limit")),
        )

    def predicate(self) -> WantsDetail | None:
        """What the sweep asks of each listed project (None: no rule, never read)."""
        if not self.rules:
            return None

        def wants_detail(
            project: Project,
            branches: Sequence[Branch],
            endpoints: Sequence[Endpoint],
            now: datetime,
        ) -> bool:
            return self.wants(project, branches, endpoints, now=now)

        return wants_detail

    def served_by(self, snapshot: Snapshot) -> bool:
        """Whether ``snapshot`` holds the detail of every project this need asks for."""
        if not {rule.kind for rule in self.extra_rules} <= snapshot.detail_kinds_read:
            return False  # swept without a detail kind these policies read
        if not self.rules:
            return True
        branches: dict[str, list[Branch]] = defaultdict(list)
        endpoints: dict[str, list[Endpoint]] = defaultdict(list)
        for branch in snapshot.branches:
            branches[branch.project_id].append(branch)
        for endpoint in snapshot.endpoints:
            endpoints[endpoint.project_id].append(endpoint)
        return not any(
            project.id not in snapshot.detailed_project_ids
            and self.wants(
                project, branches[project.id], endpoints[project.id], now=snapshot.taken_at
            )
            for project in snapshot.projects
        )

    def wants(
        self,
        project: Project,
        branches: Sequence[Branch],
        endpoints: Sequence[Endpoint],
        *,
        now: datetime,
    ) -> bool:
        """Whether any rule needs ``project``'s detail, judged on what the sweep has read."""
        if not self.rules:
            return False
        index = SnapshotIndex(
            Snapshot(
                taken_at=now,
                projects=[project],
                branches=list(branches),
                endpoints=list(endpoints),
            )
        )
        for rule in self.rules:
            if rule.by_estimate:
                if any(
                    _resize_reads_period(rule.policy, view, index, now)
                    for view in index.views("endpoint")
                ):
                    return True
            elif any(
                _selectable(rule.policy, view) and _could_match(rule.policy, view.values, now)
                for view in index.views("project")
            ):
                return True
        return False


def _selectable_ids(rules: Sequence[ExtraRule], resource: str, seen: Snapshot) -> list[str]:
    """The ids of ``resource`` views (of the one project ``seen``) some rule can still select."""
    if not rules:
        return []
    now = seen.taken_at
    index = SnapshotIndex(seen)
    views = index.views("branch" if resource == "branch" else "endpoint")
    return [
        view.resource_id
        for view in views
        if any(
            _selectable(rule.policy, view)
            and _partial(rule.policy.filters, rule.policy, view.values, now, rule.unknown)
            is not False
            for rule in rules
        )
    ]


def keeping_forever(
    branch_ids: Sequence[str], snapshots: Sequence[ProjectSnapshot] | None
) -> list[str]:
    """The branches of ``branch_ids`` whose backup schedule can be costing anything.

    A schedule item with ``retention_seconds`` gives each snapshot it takes an
    ``expires_at``; one without keeps them for ever, and those are what the schedule
    costs. So a schedule is read only for a branch with a scheduled snapshot that has no
    expiry (one read per such branch, not one per branch: 100,000 at 10,000 projects). A
    schedule that has not run yet costs nothing, and is read at the first sweep after its
    first snapshot. Without the snapshot list (not read, or its read failed), or with a
    scheduled snapshot that names no source branch, every branch is read: unknown is
    never "none".
    """
    if snapshots is None:
        return list(branch_ids)
    kept = [item for item in snapshots if not item.manual and item.expires_at is None]
    if any(not item.source_branch_id for item in kept):
        return list(branch_ids)
    sources = {item.source_branch_id for item in kept}
    return [branch_id for branch_id in branch_ids if branch_id in sources]


def _seen(
    project: Project, branches: Sequence[Branch], endpoints: Sequence[Endpoint], now: datetime
) -> Snapshot:
    return Snapshot(
        taken_at=now, projects=[project], branches=list(branches), endpoints=list(endpoints)
    )


def _selectable(policy: Policy, view: ResourceView) -> bool:
    return not policy.exclude.excludes(
        name=view.name, resource_id=view.resource_id, project_id=view.project_id, org_id=view.org_id
    )


def _could_match(policy: Policy, values: Mapping[str, Any], now: datetime) -> bool:
    """The filter, detail-only conditions unknown: anything but False may match."""
    return _partial(policy.filters, policy, values, now) is not False


def _partial(
    node: Filter,
    policy: Policy,
    values: Mapping[str, Any],
    now: datetime,
    unknown: Callable[[str], bool] | None = None,
) -> Outcome:
    """``node`` with the fields ``unknown`` names (default: detail-only ones) unknown."""
    if isinstance(node, Condition):
        is_unknown = (
            unknown(node.field) if unknown is not None else detail_only(policy.resource, node.field)
        )
        if is_unknown:
            return None
        return outcome(node, values, now)
    if isinstance(node, Not):
        inner = _partial(node.child, policy, values, now, unknown)
        return None if inner is None else not inner
    parts = [_partial(child, policy, values, now, unknown) for child in node.children]
    if isinstance(node, AllOf):
        if False in parts:
            return False
        return None if None in parts else True
    if True in parts:
        return True
    return None if None in parts else False


def _resize_reads_period(
    policy: Policy, view: ResourceView, index: SnapshotIndex, now: datetime
) -> bool:
    """Whether the resize estimate of this compute, if selected, reads the period start."""
    action = policy.action
    endpoint = index.endpoints.get(view.resource_id)
    if endpoint is None or not isinstance(action, ResizeAction):
        return False
    if action.min_cu >= endpoint.autoscaling_limit_min_cu or never_scales_to_zero(endpoint):
        return False  # nothing saved, or 730 h whatever the period
    branch = index.branches.get(endpoint.branch_id)
    active = branch.raw.get("active_time_seconds") if branch is not None else None
    if not isinstance(active, int | float) or isinstance(active, bool) or active < 0:
        return False  # the estimate cannot use the period without the branch's counter
    return outcome(policy.filters, view.values, now) is True and _selectable(policy, view)
