"""What a compute's timeout or wakefulness costs: long suspend timeouts, computes kept
awake despite scale-to-zero (report or ``disable_compute``), read replicas (note L2, L3, L5).

All are slices of the compute's floor cost, so they share ``compute_floor:<endpoint>`` with
autosuspend, resize and a branch delete: totals count that cost once.
"""

from __future__ import annotations

from governor.model.findings import Estimate, Finding
from governor.policy.resources import SnapshotIndex, compute_activity
from governor.savings.compute import measured_floor, never_scales_to_zero
from governor.savings.money import cu
from governor.savings.plans import Line, PlanChoice, priced
from governor.savings.units import HOURS_PER_MONTH
from governor.savings.usage import Usage

SUSPEND_DEFAULT_SECONDS = 300  # 0 means Neon's default, 5 minutes
ACTIVATION_DAYS = 30  # activations are start_compute operations of the last 30 days


def effective_timeout(seconds: int) -> int:
    """A timeout as Neon applies it: 0 is the 300-second default."""
    return SUSPEND_DEFAULT_SECONDS if seconds == 0 else seconds


def shorter_timeout(
    finding: Finding, new_seconds: int, index: SnapshotIndex, plan: PlanChoice
) -> Estimate:
    """Upper bound: ``activations x (timeout - new)/3600 x min CU x c``, exact only when
    every activation ends in a full idle timeout; activations of 30 days scaled to 730 h."""
    lead = f"A {effective_timeout(new_seconds)}-second suspend timeout for compute " + (
        finding.resource_id
    )
    endpoint = index.endpoints.get(finding.resource_id)
    if endpoint is None:
        return Estimate(0.0, f"{lead}: the compute is not in the snapshot, cost unknown.")
    old, new = effective_timeout(endpoint.suspend_timeout_seconds), effective_timeout(new_seconds)
    activations = index.snapshot.activations.get(endpoint.id)
    if activations is None or activations < 0:
        return Estimate(
            0.0,
            f"{lead}: its activations (start_compute operations) were not read, so the idle "
            f"tails the shorter timeout cuts are unknown; no saving is claimed. {plan.label}",
        )
    tail = (old - new) / 3600
    hours = min(
        float(HOURS_PER_MONTH),
        round(activations * tail * HOURS_PER_MONTH / (ACTIVATION_DAYS * 24), 1),
    )
    min_cu = endpoint.autoscaling_limit_min_cu
    text = (
        f"{activations} activations in the last {ACTIVATION_DAYS} days x ({old} - {new}) s "
        f"idle tail = {activations * tail:,.2f} h, x {HOURS_PER_MONTH}/{ACTIVATION_DAYS * 24} "
        f"= {hours:,.1f} h a month; {cu(min_cu)} x {hours:,.1f} h"
    )
    note = "an upper bound: exact only if every activation ends in a full idle timeout"
    line = Line(f"compute_floor:{endpoint.id}", "cu_hour", (min_cu, hours), text)
    return priced(lead, [line], [note], plan)


def kept_awake(
    finding: Finding,
    index: SnapshotIndex,
    plan: PlanChoice,
    usage: Usage | None,
    lead: str,
) -> Estimate:
    """``floor hours x min CU x c``: the hours the compute sat at its floor, which it would
    sleep through once the cause is removed (an upper bound)."""
    endpoint = index.endpoints.get(finding.resource_id)
    if endpoint is None:
        return Estimate(0.0, f"{lead}: the compute is not in the snapshot, cost unknown.")
    found = measured_floor(endpoint, index, usage)
    if found is None:
        return Estimate(
            0.0,
            f"{lead}: its branch's hours at the floor were not measured (no hourly "
            f"consumption rows), so no saving is claimed. {plan.label}",
        )
    _, monthly, words = found
    min_cu = endpoint.autoscaling_limit_min_cu
    text = f"{words}; {cu(min_cu)} x {monthly:,.1f} h"
    line = Line(f"compute_floor:{endpoint.id}", "cu_hour", (min_cu, monthly), text)
    note = "an upper bound: it holds once whatever keeps the compute awake stops"
    return priced(lead, [line], [note], plan, "measured")


def delete_endpoint(finding: Finding, index: SnapshotIndex, plan: PlanChoice) -> Estimate:
    """A compute that never scales to zero: ``min CU x 730 x c`` (its floor all month; Neon's
    meters are per branch and do not separate a replica from its primary, so object
    fields: precision B). One that suspends costs about $0 while idle."""
    lead = f"Deleting compute {finding.resource_id}"
    endpoint = index.endpoints.get(finding.resource_id)
    if endpoint is None:
        return Estimate(0.0, f"{lead}: the compute is not in the snapshot, cost unknown.")
    kind = "read replica" if endpoint.type == "read_only" else "compute"
    reason = never_scales_to_zero(endpoint)
    if reason is None:
        last = compute_activity(endpoint)
        when = f"last active {last.isoformat()}" if last is not None else "activity unknown"
        return Estimate(
            0.0,
            f"{lead}: the {kind} suspends when idle ({when}), so it costs about $0 while idle; "
            "its active hours are not metered apart from the branch's other computes, so no "
            f"saving is claimed. {plan.label}",
        )
    min_cu = endpoint.autoscaling_limit_min_cu
    text = f"the {kind} never scales to zero ({reason}): {cu(min_cu)} x {HOURS_PER_MONTH} h"
    line = Line(f"compute_floor:{endpoint.id}", "cu_hour", (min_cu, HOURS_PER_MONTH), text)
    return priced(lead, [line], ["a lower bound: it may run above its minimum"], plan)
