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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from governor.model.actions import ResizeAction
from governor.model.snapshot import Snapshot
from governor.neon.models import Branch, Endpoint, Project
from governor.policy import Policy
from governor.policy.fields import detail_only
from governor.policy.filters import AllOf, Condition, Filter, Not, filter_fields
from governor.policy.matching import outcome
from governor.policy.operators import Outcome
from governor.policy.resources import ResourceView, SnapshotIndex
from governor.savings.compute import never_scales_to_zero
from governor.sweep import WantsDetail

RESIZE_FIELD = "consumption_period_start"


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
class DetailNeed:
    """The rules of every loaded policy that needs project details (none: never read)."""

    rules: tuple[DetailRule, ...] = ()

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
        return cls(tuple(rules))

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


def _selectable(policy: Policy, view: ResourceView) -> bool:
    return not policy.exclude.excludes(
        name=view.name, resource_id=view.resource_id, project_id=view.project_id, org_id=view.org_id
    )


def _could_match(policy: Policy, values: Mapping[str, Any], now: datetime) -> bool:
    """The filter, detail-only conditions unknown: anything but False may match."""
    return _partial(policy.filters, policy, values, now) is not False


def _partial(node: Filter, policy: Policy, values: Mapping[str, Any], now: datetime) -> Outcome:
    if isinstance(node, Condition):
        if detail_only(policy.resource, node.field):
            return None
        return outcome(node, values, now)
    if isinstance(node, Not):
        inner = _partial(node.child, policy, values, now)
        return None if inner is None else not inner
    parts = [_partial(child, policy, values, now) for child in node.children]
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
