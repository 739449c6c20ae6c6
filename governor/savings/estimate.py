"""What acting on a finding would save per month, with the formula spelled out in ``method``.

Pure: a finding, the snapshot it came from and the price table in; an ``Estimate`` out.
Prices are those of the organization's ``plan`` (``[prices.plans]``), falling back to
``default_plan`` when the plan has no entry or the organization is unknown. Every
``method`` names the plan used and the prices' date and source. Amounts are rounded to
cents. A missing field never raises: that part counts 0 and ``method`` says what was unknown.

Formulas (one month = 730 hours; 1 GB = 2^30 bytes, the unit Neon measures storage in):

- Delete a branch (``delete``; ``set_expiry`` too, from the day it expires):
  storage ``logical_size / 2^30 GB * storage price per GB-month``. This over-counts what
  the branch alone adds, because branches share storage with their parent.
  Plus, for each compute on the branch that never scales to zero
  (``suspend_timeout_seconds == -1``, or a minimum above 16 CU, which never scales to zero):
  ``min CU * 730 h * compute price per CU-hour``. A compute that suspends when idle costs
  about 0 while the branch is idle, so it adds nothing.
  Plus, when the project has more branches than the plan includes, one extra-branch price
  per month.
- Turn on autosuspend (``set_autosuspend``) for a never-suspending compute:
  ``min CU * idle hours per month * compute price``. Idle hours: the hours since the
  compute's last activity (the latest of ``last_active``, ``started_at``, ``suspended_at``)
  up to the snapshot, capped at 730; so a compute idle for over a month would be suspended
  all month. This assumes the coming month is like the last 730 hours and counts only the
  idle stretch since the last activity, so it errs low. Computes above 16 CU never scale
  to zero: 0.
- Lower the minimum size (``resize``): ``(current min CU - new min CU) * hours at the
  minimum * compute price``. Hours: 730 when the compute never scales to zero; else its
  active hours, extrapolated from the branch's ``active_time_seconds`` over the time since
  the project's ``consumption_period_start`` (``active / elapsed * 730``); 0 when it was
  last active over a month ago. This counts every running hour at the minimum, so it errs
  high when autoscaling runs the compute above it.
- Revoke an API key (``revoke``): ``kind="risk"``, 0 USD: it removes a standing credential,
  not a charge.
- Anything else: 0 USD, with the reason.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from governor.findings import Estimate, Finding
from governor.inventory import Snapshot
from governor.neon.models import Branch, Endpoint, Organization, Project
from governor.savings.prices import HOURS_PER_MONTH, PlanPrices, Prices

BYTES_PER_GB = 2**30
NEVER_SCALES_TO_ZERO_ABOVE_CU = 16.0
_CENT = Decimal("0.01")


# Lookups ------------------------------------------------------------------------------


@dataclass
class _Index:
    organizations: dict[str, Organization] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    branches: dict[str, Branch] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    endpoints_by_branch: dict[str, list[Endpoint]] = field(default_factory=dict)
    branch_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, snapshot: Snapshot) -> _Index:
        index = cls(
            organizations={org.id: org for org in snapshot.organizations},
            projects={project.id: project for project in snapshot.projects},
            branches={branch.id: branch for branch in snapshot.branches},
            endpoints={endpoint.id: endpoint for endpoint in snapshot.endpoints},
        )
        for endpoint in snapshot.endpoints:
            index.endpoints_by_branch.setdefault(endpoint.branch_id, []).append(endpoint)
        for branch in snapshot.branches:
            index.branch_counts[branch.project_id] = (
                index.branch_counts.get(branch.project_id, 0) + 1
            )
        return index


# One snapshot is estimated finding after finding: index it once, not once per finding.
_cache: dict[str, Any] = {}


def _index(snapshot: Snapshot) -> _Index:
    shape = tuple(
        (id(items), len(items))
        for items in (
            snapshot.organizations,
            snapshot.projects,
            snapshot.branches,
            snapshot.endpoints,
        )
    )
    cached_ref = _cache.get("snapshot")
    if cached_ref is not None and cached_ref() is snapshot and _cache.get("shape") == shape:
        cached: _Index = _cache["index"]
        return cached
    index = _Index.build(snapshot)
    _cache.update(snapshot=weakref.ref(snapshot), shape=shape, index=index)
    return index


# Formatting ---------------------------------------------------------------------------


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def _unit_price(amount: float) -> str:
    """A price as published: at least cents, more digits when it has them ($0.106)."""
    text = f"{amount:.4f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def _cu(value: float) -> str:
    return f"{value:g} CU"


def _cents(*factors: float) -> float:
    """The product in USD, rounded half-up to cents, computed on the decimal values shown.

    Decimal so that a hand-computed 0.25 x 730 x 0.106 = 19.345 rounds to 19.35, as a person
    checking the method would expect, not to binary float's 19.34.
    """
    product = Decimal(1)
    for factor in factors:
        product *= Decimal(str(factor))
    return float(product.quantize(_CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class _PlanChoice:
    prices: PlanPrices
    label: str


def _plan(finding: Finding, index: _Index, prices: Prices) -> _PlanChoice:
    org_id = finding.org_id
    if org_id is None and finding.project_id in index.projects:
        org_id = index.projects[finding.project_id].org_id
    organization = index.organizations.get(org_id) if org_id else None
    plan = organization.plan if organization else None
    if plan and plan in prices.plans:
        name, why = plan, ""
    else:
        name = prices.default_plan if prices.default_plan in prices.plans else "launch (built-in)"
        if organization is None:
            why = " (organization unknown, so the default plan)"
        elif not plan:
            why = " (organization plan unknown, so the default plan)"
        else:
            why = f" (plan {plan!r} has no price entry, so the default plan)"
    label = f"Prices: plan {name}{why}, taken on {prices.taken_on} from {prices.source}."
    return _PlanChoice(prices.for_plan(plan), label)


def _aware(moment: datetime) -> datetime:
    """API times without a zone are read as UTC, so comparing them never raises."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _latest_activity(endpoint: Endpoint) -> datetime | None:
    moments = [
        _aware(moment)
        for moment in (endpoint.last_active, endpoint.started_at, endpoint.suspended_at)
        if moment is not None
    ]
    return max(moments) if moments else None


def _never_scales_to_zero(endpoint: Endpoint) -> str | None:
    """Why the compute runs all month at least at its minimum, or None when it suspends."""
    if endpoint.suspend_timeout_seconds == -1:
        return "suspend_timeout_seconds is -1"
    if endpoint.autoscaling_limit_min_cu > NEVER_SCALES_TO_ZERO_ABOVE_CU:
        return f"minimum {_cu(endpoint.autoscaling_limit_min_cu)} is above 16 CU"
    return None


def _hours_since(moment: datetime, now: datetime) -> float:
    return max(0.0, (_aware(now) - _aware(moment)).total_seconds() / 3600)


# Formulas -----------------------------------------------------------------------------


def _delete_branch(
    finding: Finding, snapshot: Snapshot, index: _Index, plan: _PlanChoice, lead: str
) -> Estimate:
    branch = index.branches.get(finding.resource_id)
    if branch is None:
        return Estimate(
            0.0, f"{lead}: branch {finding.resource_id} is not in the snapshot, cost unknown."
        )
    prices = plan.prices
    parts: list[str] = []
    total = 0.0
    if branch.logical_size is None:
        parts.append("storage unknown (logical_size missing)")
    else:
        gigabytes = branch.logical_size / BYTES_PER_GB
        storage = _cents(gigabytes, prices.storage_per_gb_month)
        total += storage
        parts.append(
            f"storage {gigabytes:,.2f} GB (logical_size {branch.logical_size:,} bytes / 2^30) "
            f"x {_unit_price(prices.storage_per_gb_month)}/GB-month = {_usd(storage)}, "
            "an upper bound since branches share storage with their parent"
        )
    computes = index.endpoints_by_branch.get(branch.id, [])
    if not computes:
        parts.append("no computes")
    for endpoint in computes:
        reason = _never_scales_to_zero(endpoint)
        if reason is None:
            parts.append(
                f"compute {endpoint.id} suspends when idle, so about $0 while the branch is idle"
            )
            continue
        cost = _cents(
            endpoint.autoscaling_limit_min_cu, HOURS_PER_MONTH, prices.compute_per_cu_hour
        )
        total += cost
        parts.append(
            f"compute {endpoint.id} never scales to zero ({reason}): "
            f"{_cu(endpoint.autoscaling_limit_min_cu)} x {HOURS_PER_MONTH:g} h "
            f"x {_unit_price(prices.compute_per_cu_hour)}/CU-hour = {_usd(cost)}"
        )
    count = index.branch_counts.get(branch.project_id, 0)
    included = prices.included_branches_per_project
    project = index.projects.get(branch.project_id)
    org_id = finding.org_id or (project.org_id if project else None)
    if not snapshot.covers("branch", org_id, branch.project_id):
        parts.append(
            "branch count unknown (branch list incomplete), no extra-branch charge counted"
        )
    elif count > included:
        total += prices.extra_branch_per_month
        parts.append(
            f"the project has {count} branches and the plan includes {included}, so "
            f"+ {_usd(prices.extra_branch_per_month)} extra-branch-month"
        )
    else:
        parts.append(f"the project has {count} of {included} included branches, no extra charge")
    total = _cents(total)
    method = f"{lead}: " + "; ".join(parts) + f". Total {_usd(total)}/month. {plan.label}"
    return Estimate(total, method)


def _autosuspend(
    finding: Finding, snapshot: Snapshot, index: _Index, plan: _PlanChoice
) -> Estimate:
    endpoint = index.endpoints.get(finding.resource_id)
    lead = f"Autosuspend for compute {finding.resource_id}"
    if endpoint is None:
        return Estimate(0.0, f"{lead}: the compute is not in the snapshot, cost unknown.")
    min_cu = endpoint.autoscaling_limit_min_cu
    if min_cu > NEVER_SCALES_TO_ZERO_ABOVE_CU:
        return Estimate(
            0.0,
            f"{lead}: its minimum {_cu(min_cu)} is above 16 CU and such computes never scale "
            f"to zero, so autosuspend saves nothing. {plan.label}",
        )
    if endpoint.suspend_timeout_seconds != -1:
        return Estimate(
            0.0,
            f"{lead}: it already suspends when idle (suspend_timeout_seconds "
            f"{endpoint.suspend_timeout_seconds}), so there is nothing to save. {plan.label}",
        )
    last = _latest_activity(endpoint)
    if last is None:
        return Estimate(
            0.0,
            f"{lead}: idle hours unknown (no last_active, started_at or suspended_at), "
            f"so no saving is claimed. {plan.label}",
        )
    idle_hours = min(HOURS_PER_MONTH, _hours_since(last, snapshot.taken_at))
    price = plan.prices.compute_per_cu_hour
    total = _cents(min_cu, idle_hours, price)
    assumption = (
        "idle for over a month, so it would be suspended all month"
        if idle_hours >= HOURS_PER_MONTH
        else "assumes the coming month is like the last 730 h, counting only the idle "
        "stretch since that activity"
    )
    method = (
        f"{lead}: last activity {last.isoformat()}, {idle_hours:,.1f} h before the snapshot "
        f"({assumption}); {_cu(min_cu)} x {idle_hours:,.1f} idle h x "
        f"{_unit_price(price)}/CU-hour = {_usd(total)}/month. {plan.label}"
    )
    return Estimate(total, method)


def _active_hours(endpoint: Endpoint, snapshot: Snapshot, index: _Index) -> tuple[float, str]:
    """Hours per month the compute runs (at least at its minimum), and how that was found."""
    reason = _never_scales_to_zero(endpoint)
    if reason is not None:
        return HOURS_PER_MONTH, f"it never scales to zero ({reason}), so 730 h"
    branch = index.branches.get(endpoint.branch_id)
    project = index.projects.get(endpoint.project_id)
    active_seconds = branch.raw.get("active_time_seconds") if branch else None
    period_start = _parse_time(project.raw.get("consumption_period_start") if project else None)
    if (
        isinstance(active_seconds, int | float)
        and not isinstance(active_seconds, bool)
        and active_seconds >= 0
        and period_start is not None
    ):
        elapsed = (_aware(snapshot.taken_at) - period_start).total_seconds()
        if elapsed > 0:
            hours = min(HOURS_PER_MONTH, active_seconds / elapsed * HOURS_PER_MONTH)
            return hours, (
                f"its branch's computes were active {active_seconds:,.0f} s of the "
                f"{elapsed / 3600:,.1f} h since the billing period began "
                f"({period_start.isoformat()}), so {hours:,.1f} h of 730"
            )
    last = _latest_activity(endpoint)
    if last is not None and _hours_since(last, snapshot.taken_at) >= HOURS_PER_MONTH:
        return 0.0, "it was last active over a month ago, so it stays suspended: 0 h"
    return 0.0, (
        "active hours unknown (no active_time_seconds on the branch or "
        "consumption_period_start on the project), so 0 h"
    )


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return _aware(moment)


def _resize(finding: Finding, snapshot: Snapshot, index: _Index, plan: _PlanChoice) -> Estimate:
    lead = f"Resizing compute {finding.resource_id}"
    target = finding.action.get("min_cu")
    if not isinstance(target, int | float) or isinstance(target, bool):
        return Estimate(0.0, f"{lead}: the new minimum (action min_cu) is unknown.")
    endpoint = index.endpoints.get(finding.resource_id)
    if endpoint is None:
        return Estimate(0.0, f"{lead}: the compute is not in the snapshot, cost unknown.")
    current = endpoint.autoscaling_limit_min_cu
    difference = current - float(target)
    if difference <= 0:
        return Estimate(
            0.0,
            f"{lead}: the new minimum {_cu(float(target))} is not below the current "
            f"{_cu(current)}, so nothing is saved. {plan.label}",
        )
    hours, how = _active_hours(endpoint, snapshot, index)
    price = plan.prices.compute_per_cu_hour
    total = _cents(difference, hours, price)
    method = (
        f"{lead}: minimum {_cu(current)} -> {_cu(float(target))}; hours at the minimum: {how}; "
        f"{difference:g} CU x {hours:,.1f} h x {_unit_price(price)}/CU-hour = {_usd(total)}/month "
        f"(an upper bound: autoscaling may run it above its minimum). {plan.label}"
    )
    return Estimate(total, method)


_NO_MONEY_REASONS = {
    "none": "the policy only reports",
    "suspend": "a one-off suspend; the compute starts again on its next connection",
}


def estimate(finding: Finding, snapshot: Snapshot, prices: Prices) -> Estimate:
    """The monthly saving of carrying out ``finding.action`` (formulas: module docstring)."""
    action = finding.action if isinstance(finding.action, dict) else {}
    action_type = action.get("type")
    resource = finding.resource_type
    if resource == "api_key" and action_type == "revoke":
        return Estimate(
            0.0,
            f"Revoking API key {finding.name!r} saves risk, not money: an unused key is a "
            "standing credential that can leak or be misused.",
            "risk",
        )
    index = _index(snapshot)
    plan = _plan(finding, index, prices)
    if resource == "branch" and action_type == "delete":
        return _delete_branch(
            finding, snapshot, index, plan, f"Deleting branch {finding.resource_id}"
        )
    if resource == "branch" and action_type == "set_expiry":
        lead = f"Expiring branch {finding.resource_id} (saves this once it is deleted at expiry)"
        return _delete_branch(finding, snapshot, index, plan, lead)
    if resource == "endpoint" and action_type == "set_autosuspend":
        return _autosuspend(finding, snapshot, index, plan)
    if resource == "endpoint" and action_type == "resize":
        return _resize(finding, snapshot, index, plan)
    reason = _NO_MONEY_REASONS.get(
        str(action_type), "not an action with a cost this estimator knows how to count"
    )
    if not action_type:
        return Estimate(0.0, f"No money estimate for an action without a type on a {resource}.")
    return Estimate(0.0, f"No money estimate for {action_type!r} on a {resource}: {reason}.")
