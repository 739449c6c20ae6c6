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

import math
from collections.abc import Sequence
from dataclasses import replace

from governor.model.actions import (
    DeleteAction,
    NoAction,
    ResizeAction,
    RevokeAction,
    SetAutosuspendAction,
    SetExpiryAction,
    SuspendAction,
)
from governor.model.findings import Estimate, Finding
from governor.policy.resources import SnapshotIndex
from governor.savings.branch import delete_branch
from governor.savings.compute import autosuspend, resize
from governor.savings.plans import plan_for
from governor.savings.prices import Prices


def estimate(finding: Finding, index: SnapshotIndex, prices: Prices) -> Estimate:
    """The monthly saving of carrying out ``finding.action`` (formulas: module docstring).

    Never negative: a negative figure can only come from values the API should not send.
    """
    try:
        result = _estimate(finding, index, prices)
    except (ArithmeticError, ValueError):  # 10**400-byte branches, inf prices, and the like
        return Estimate(
            0.0,
            f"No estimate for {finding.action.type!r} on {finding.resource_type} "
            f"{finding.resource_id}: values from the API are out of range.",
        )
    if not math.isfinite(result.monthly_usd):
        return replace(
            result,
            monthly_usd=0.0,
            method=result.method + " The inputs give no finite amount (values from the API "
            "out of range), so no saving is claimed.",
        )
    if result.monthly_usd < 0:
        return replace(
            result,
            monthly_usd=0.0,
            method=result.method + " The inputs give a negative amount (values from the API "
            "out of range), so no saving is claimed.",
        )
    return result


def _estimate(finding: Finding, index: SnapshotIndex, prices: Prices) -> Estimate:
    action = finding.action
    resource = finding.resource_type
    if isinstance(action, RevokeAction):
        return Estimate(
            0.0,
            f"Revoking API key {finding.name!r} saves risk, not money: an unused key is a "
            "standing credential that can leak or be misused.",
            "risk",
        )
    plan = plan_for(finding, index, prices)
    match action:
        case DeleteAction() if resource == "branch":
            return delete_branch(finding, index, plan, f"Deleting branch {finding.resource_id}")
        case SetExpiryAction() if resource == "branch":
            lead = (
                f"Expiring branch {finding.resource_id} (saves this once it is deleted at expiry)"
            )
            return delete_branch(finding, index, plan, lead)
        case SetAutosuspendAction() if resource == "endpoint":
            return autosuspend(finding, index, plan)
        case ResizeAction() if resource == "endpoint":
            return resize(finding, action, index, plan)
        case NoAction():
            reason = "the policy only reports"
        case SuspendAction():
            reason = "a one-off suspend; the compute starts again on its next connection"
        case _:
            reason = "not an action with a cost this estimator knows how to count"
    return Estimate(0.0, f"No money estimate for {action.type!r} on a {resource}: {reason}.")


def with_estimates(
    findings: Sequence[Finding], index: SnapshotIndex, prices: Prices
) -> list[Finding]:
    """``findings`` with their estimates filled in, in the same order."""
    return [replace(finding, estimate=estimate(finding, index, prices)) for finding in findings]
