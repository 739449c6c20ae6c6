"""What changing a compute saves: autosuspend for a never-suspending one, a lower minimum."""

from __future__ import annotations

from datetime import datetime

from governor.model.actions import ResizeAction
from governor.model.findings import Estimate, Finding
from governor.neon.models import Endpoint
from governor.policy.operators import parse_timestamp
from governor.policy.resources import SnapshotIndex, compute_activity
from governor.savings.money import cents, cu, unit_price, usd
from governor.savings.plans import PlanChoice
from governor.savings.prices import HOURS_PER_MONTH

NEVER_SCALES_TO_ZERO_ABOVE_CU = 16.0


def never_scales_to_zero(endpoint: Endpoint) -> str | None:
    """Why the compute runs all month at least at its minimum, or None when it suspends."""
    if endpoint.suspend_timeout_seconds == -1:
        return "suspend_timeout_seconds is -1"
    if endpoint.autoscaling_limit_min_cu > NEVER_SCALES_TO_ZERO_ABOVE_CU:
        return f"minimum {cu(endpoint.autoscaling_limit_min_cu)} is above 16 CU"
    return None


def _hours_since(moment: datetime, now: datetime) -> float:
    aware_now = parse_timestamp(now) or now
    return max(0.0, (aware_now - moment).total_seconds() / 3600)


def autosuspend(finding: Finding, index: SnapshotIndex, plan: PlanChoice) -> Estimate:
    endpoint = index.endpoints.get(finding.resource_id)
    lead = f"Autosuspend for compute {finding.resource_id}"
    if endpoint is None:
        return Estimate(0.0, f"{lead}: the compute is not in the snapshot, cost unknown.")
    min_cu = endpoint.autoscaling_limit_min_cu
    if min_cu > NEVER_SCALES_TO_ZERO_ABOVE_CU:
        return Estimate(
            0.0,
            f"{lead}: its minimum {cu(min_cu)} is above 16 CU and such computes never scale "
            f"to zero, so autosuspend saves nothing. {plan.label}",
        )
    if endpoint.suspend_timeout_seconds != -1:
        return Estimate(
            0.0,
            f"{lead}: it already suspends when idle (suspend_timeout_seconds "
            f"{endpoint.suspend_timeout_seconds}), so there is nothing to save. {plan.label}",
        )
    last = compute_activity(endpoint)
    if last is None:
        return Estimate(
            0.0,
            f"{lead}: idle hours unknown (no last_active, started_at or suspended_at), "
            f"so no saving is claimed. {plan.label}",
        )
    idle_hours = min(HOURS_PER_MONTH, _hours_since(last, index.snapshot.taken_at))
    price = plan.prices.compute_per_cu_hour
    total = cents(min_cu, idle_hours, price)
    assumption = (
        "idle for over a month, so it would be suspended all month"
        if idle_hours >= HOURS_PER_MONTH
        else "assumes the coming month is like the last 730 h, counting only the idle "
        "stretch since that activity"
    )
    method = (
        f"{lead}: last activity {last.isoformat()}, {idle_hours:,.1f} h before the snapshot "
        f"({assumption}); {cu(min_cu)} x {idle_hours:,.1f} idle h x "
        f"{unit_price(price)}/CU-hour = {usd(total)}/month. {plan.label}"
    )
    return Estimate(total, method)


def _active_hours(endpoint: Endpoint, index: SnapshotIndex) -> tuple[float, str]:
    """Hours per month the compute runs (at least at its minimum), and how that was found."""
    reason = never_scales_to_zero(endpoint)
    if reason is not None:
        return HOURS_PER_MONTH, f"it never scales to zero ({reason}), so 730 h"
    taken_at = parse_timestamp(index.snapshot.taken_at) or index.snapshot.taken_at
    branch = index.branches.get(endpoint.branch_id)
    project = index.projects.get(endpoint.project_id)
    active_seconds = branch.raw.get("active_time_seconds") if branch else None
    period_start = parse_timestamp(project.raw.get("consumption_period_start") if project else None)
    if (
        isinstance(active_seconds, int | float)
        and not isinstance(active_seconds, bool)
        and active_seconds >= 0
        and period_start is not None
    ):
        elapsed = (taken_at - period_start).total_seconds()
        if elapsed > 0:
            hours = min(HOURS_PER_MONTH, active_seconds / elapsed * HOURS_PER_MONTH)
            return hours, (
                f"its branch's computes were active {active_seconds:,.0f} s of the "
                f"{elapsed / 3600:,.1f} h since the billing period began "
                f"({period_start.isoformat()}), so {hours:,.1f} h of 730"
            )
    last = compute_activity(endpoint)
    if last is not None and _hours_since(last, taken_at) >= HOURS_PER_MONTH:
        return 0.0, "it was last active over a month ago, so it stays suspended: 0 h"
    return 0.0, (
        "active hours unknown (no active_time_seconds on the branch or "
        "consumption_period_start on the project), so 0 h"
    )


def resize(
    finding: Finding, action: ResizeAction, index: SnapshotIndex, plan: PlanChoice
) -> Estimate:
    lead = f"Resizing compute {finding.resource_id}"
    endpoint = index.endpoints.get(finding.resource_id)
    if endpoint is None:
        return Estimate(0.0, f"{lead}: the compute is not in the snapshot, cost unknown.")
    target = action.min_cu
    current = endpoint.autoscaling_limit_min_cu
    difference = current - target
    if difference <= 0:
        return Estimate(
            0.0,
            f"{lead}: the new minimum {cu(target)} is not below the current "
            f"{cu(current)}, so nothing is saved. {plan.label}",
        )
    hours, how = _active_hours(endpoint, index)
    price = plan.prices.compute_per_cu_hour
    total = cents(difference, hours, price)
    method = (
        f"{lead}: minimum {cu(current)} -> {cu(target)}; hours at the minimum: {how}; "
        f"{difference:g} CU x {hours:,.1f} h x {unit_price(price)}/CU-hour = {usd(total)}/month "
        f"(an upper bound: autoscaling may run it above its minimum). {plan.label}"
    )
    return Estimate(total, method)
