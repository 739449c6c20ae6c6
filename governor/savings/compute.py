"""What changing a compute saves: autosuspend for a never-suspending one, a lower minimum.

With consumption (``Usage``) the hours come from Neon's meters: a floor hour is an hour whose
``compute_unit_seconds`` were at most 1.05 x the branch's summed minimum x 3600 (note L1),
scaled from the 168-h window to a 730-h month. Without it, from object fields, as bounds.
Both savings are slices of the compute's floor cost, so they share the part key
``compute_floor:<endpoint id>`` with a branch delete: totals count that cost once.
"""

from __future__ import annotations

from datetime import datetime

from governor.model.actions import ResizeAction
from governor.model.findings import Estimate, Finding
from governor.neon.models import Endpoint
from governor.policy.operators import parse_timestamp
from governor.policy.resources import SnapshotIndex, compute_activity
from governor.rules.compute import NeedsPerson, cheapest_target
from governor.savings.money import cu
from governor.savings.plans import Line, PlanChoice, priced
from governor.savings.units import HOURS_PER_MONTH
from governor.savings.usage import FLOOR_SLACK, FloorHours, Usage

NEVER_SCALES_TO_ZERO_ABOVE_CU = 16.0
_EPSILON = 1e-9


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


def measured_floor(
    endpoint: Endpoint, index: SnapshotIndex, usage: Usage | None
) -> tuple[FloorHours, float, str] | None:
    """The branch's measured floor hours, their monthly figure and the words, or None."""
    if usage is None:
        return None
    floor_cu = sum(
        other.autoscaling_limit_min_cu
        for other in index.endpoints_by_branch.get(endpoint.branch_id, [endpoint])
    )
    hours = usage.floor_hours(endpoint.branch_id, floor_cu)
    if hours is None:
        return None
    monthly = round(hours.per_month(HOURS_PER_MONTH), 1)
    words = (
        f"measured: {hours.floor_hours:g} of the last {hours.window_hours:g} h of branch "
        f"{endpoint.branch_id} at the floor (compute_unit_seconds <= {FLOOR_SLACK:g} x "
        f"{floor_cu:g} CU x 3600), so {monthly:,.1f} h of {HOURS_PER_MONTH}"
    )
    return hours, monthly, words


def floor_line(
    endpoint: Endpoint, index: SnapshotIndex, usage: Usage | None
) -> tuple[Line | None, str, bool]:
    """A branch delete's saving on one compute: its floor cost (line), or why none; and
    whether it was measured."""
    reason = never_scales_to_zero(endpoint)
    min_cu = endpoint.autoscaling_limit_min_cu
    if reason is None:
        return (
            None,
            f"compute {endpoint.id} suspends when idle, so about $0 while the branch is idle",
            False,
        )
    found = measured_floor(endpoint, index, usage)
    if found is not None:
        _, monthly, words = found
        text = (
            f"compute {endpoint.id} never scales to zero ({reason}), {words}: "
            f"{cu(min_cu)} x {monthly:,.1f} h"
        )
        return Line(f"compute_floor:{endpoint.id}", "cu_hour", (min_cu, monthly), text), "", True
    text = (
        f"compute {endpoint.id} never scales to zero ({reason}): {cu(min_cu)} x {HOURS_PER_MONTH} h"
    )
    line = Line(f"compute_floor:{endpoint.id}", "cu_hour", (min_cu, HOURS_PER_MONTH), text)
    return line, "", False


def autosuspend(
    finding: Finding, index: SnapshotIndex, plan: PlanChoice, usage: Usage | None = None
) -> Estimate:
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
    key = f"compute_floor:{endpoint.id}"
    found = measured_floor(endpoint, index, usage)
    if found is not None:
        _, monthly, words = found
        text = f"{words}, hours it would have slept; {cu(min_cu)} x {monthly:,.1f} h"
        return priced(lead, [Line(key, "cu_hour", (min_cu, monthly), text)], [], plan, "measured")
    last = compute_activity(endpoint)
    if last is None:
        return Estimate(
            0.0,
            f"{lead}: idle hours unknown (no last_active, started_at or suspended_at), "
            f"so no saving is claimed. {plan.label}",
        )
    idle_hours = round(min(HOURS_PER_MONTH, _hours_since(last, index.snapshot.taken_at)), 1)
    assumption = (
        "idle for over a month, so it would be suspended all month"
        if idle_hours >= HOURS_PER_MONTH
        else f"assumes the coming month is like the last {HOURS_PER_MONTH} h, counting only "
        "the idle stretch since that activity"
    )
    text = (
        f"last activity {last.isoformat()}, {idle_hours:,.1f} h before the snapshot "
        f"({assumption}); {cu(min_cu)} x {idle_hours:,.1f} idle h"
    )
    return priced(lead, [Line(key, "cu_hour", (min_cu, idle_hours), text)], [], plan)


def _active_hours(
    endpoint: Endpoint, index: SnapshotIndex, plan: PlanChoice
) -> tuple[float | None, str]:
    """Hours per month the compute runs (at least at its minimum), and how that was found;
    None: unknown (never a silent 0)."""
    reason = never_scales_to_zero(endpoint)
    if reason is not None:
        return float(HOURS_PER_MONTH), f"it never scales to zero ({reason}), so {HOURS_PER_MONTH} h"
    taken_at = parse_timestamp(index.snapshot.taken_at) or index.snapshot.taken_at
    branch = index.branches.get(endpoint.branch_id)
    project = index.projects.get(endpoint.project_id)
    active_seconds = branch.raw.get("active_time_seconds") if branch else None
    period_start = parse_timestamp(project.raw.get("consumption_period_start") if project else None)
    last = compute_activity(endpoint)
    if last is not None and _hours_since(last, taken_at) >= HOURS_PER_MONTH:
        return 0.0, "it was last active over a month ago, so it stays suspended: 0 h"
    if (
        isinstance(active_seconds, int | float)
        and not isinstance(active_seconds, bool)
        and active_seconds >= 0
        and period_start is not None
    ):
        if active_seconds == 0 and plan.prices.kind in ("usage", "custom"):
            return None, (
                "active hours unknown: the branch's active_time_seconds is 0, which usage-based "
                "plans may report whatever the activity (no consumption data read)"
            )
        elapsed = (taken_at - period_start).total_seconds()
        if elapsed > 0:
            hours = round(min(HOURS_PER_MONTH, active_seconds / elapsed * HOURS_PER_MONTH), 1)
            return hours, (
                f"its branch's computes were active {active_seconds:,.0f} s of the "
                f"{elapsed / 3600:,.1f} h since the billing period began "
                f"({period_start.isoformat()}), so {hours:,.1f} h of {HOURS_PER_MONTH}"
            )
    return None, (
        "active hours unknown (no consumption data, and no active_time_seconds on the branch "
        "or consumption_period_start on the project)"
    )


def resize(
    finding: Finding,
    action: ResizeAction,
    index: SnapshotIndex,
    plan: PlanChoice,
    usage: Usage | None = None,
) -> Estimate:
    lead = f"Resizing compute {finding.resource_id}"
    endpoint = index.endpoints.get(finding.resource_id)
    if endpoint is None:
        return Estimate(0.0, f"{lead}: the compute is not in the snapshot, cost unknown.")
    current = endpoint.autoscaling_limit_min_cu
    # The same target the planner chooses (the resolved action's maximum is "keep it").
    target = cheapest_target(
        current_min=current,
        current_max=endpoint.autoscaling_limit_max_cu,
        asked_min=action.min_cu,
        asked_max=action.max_cu,
        lower_max=action.lower_max,
    )
    if isinstance(target, NeedsPerson):
        return Estimate(
            0.0,
            f"{lead}: no valid target without a person's choice ({target.reason}), so no "
            f"saving is claimed. {plan.label}",
        )
    difference = current - target.min_cu
    if difference <= _EPSILON:
        return Estimate(
            0.0,
            f"{lead}: the valid minimum {cu(target.min_cu)} is not below the current "
            f"{cu(current)} ({target.why}), so nothing is saved. {plan.label}",
        )
    chosen = f"minimum {cu(current)} -> {cu(target.min_cu)} ({target.why})"
    key = f"compute_floor:{endpoint.id}"
    found = measured_floor(endpoint, index, usage)
    if found is not None:
        _, monthly, words = found
        text = f"{chosen}; {words}; {difference:g} CU x {monthly:,.1f} h"
        return priced(
            lead, [Line(key, "cu_hour", (difference, monthly), text)], [], plan, "measured"
        )
    hours, how = _active_hours(endpoint, index, plan)
    if hours is None:
        return Estimate(0.0, f"{lead}: {chosen}; saving unknown: {how}. {plan.label}")
    text = f"{chosen}; hours at the minimum: {how}; {difference:g} CU x {hours:,.1f} h"
    note = "an upper bound: autoscaling may run it above its minimum"
    return priced(lead, [Line(key, "cu_hour", (difference, hours), text)], [note], plan)
