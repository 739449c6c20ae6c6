"""What acting on a finding would save per month, with the formula spelled out in ``method``.

Pure: a finding, the snapshot it came from, the rate card and (optionally) Neon's consumption
meters (``Usage``) in; an ``Estimate`` out. The plan is the organization's as Neon states it
(``billing_plan``: ``plan``, ``owner.subscription_type``, ``managed_by``), falling back to
``default_plan``; every ``method`` names the plan, why, and the prices' date and source.
Amounts are rounded to cents. A missing field never raises: that part counts 0 and
``method`` says what was unknown.

Units (``governor/savings/units.py``): 1 GB = 10^9 bytes (Neon bills decimal GB); storage and
branch fees are billed per 744-hour GB-month, so a 730-hour month of a branch is 730/744 of a
GB-month or branch-month; compute is billed per CU-hour, a month being 730 hours.

Kinds: ``measured`` when the hours or storage come from Neon's meters; ``estimated`` when
they are bounds from object fields; ``quota`` on Free (0 USD, the quota units in ``method``);
``risk`` for a revoked key. Legacy plans: a saving inside the allowance counts $0 and says
so; custom (Enterprise) plans claim no dollars until ``[prices.plans.enterprise]`` prices them.

Each estimate lists its costs as ``parts`` under keys naming the cost
(``compute_floor:<endpoint>``, ``storage:<branch>``, ``branch_fee:<branch>``,
``instant_restore:<project>``, ``snapshot:<id>``, ``project:<id>:<line>``,
``plan_fit:<org>``), so totals count a cost found by two policies once
(``governor/savings/totals.py``).

Formulas:

- Delete a branch (``delete``; ``set_expiry`` too, from the day it expires): storage, measured
  from ``child_branch_bytes_month`` when read (and the organization's unit calibrated), else
  ``logical_size / 10^9 GB x 730/744 x storage price`` (an upper bound: branches share
  storage with their parent); plus, for each compute that never scales to zero
  (``suspend_timeout_seconds == -1`` or a minimum above 16 CU), ``min CU x floor hours x
  compute price`` (measured floor hours, else 730 h); plus, when the project has more
  branches than the plan includes, ``730/744 x`` the extra-branch price.
- Turn on autosuspend (``set_autosuspend``) for a never-suspending compute: ``min CU x
  floor hours x compute price``; without meters, the hours since its last activity capped
  at 730 (a lower bound). Computes above 16 CU never scale to zero: 0.
- Lower the minimum (``resize``): the valid target ``governor.rules.compute.cheapest_target``
  chooses; ``(current min - target min) x hours x compute price``, the hours measured floor
  hours, else 730 when it never scales to zero, else active hours from the branch's
  ``active_time_seconds`` since ``consumption_period_start``; a 0 counter on a usage-based
  plan (where Neon may leave it at 0) is "unknown", never a silent $0.
- Shorter suspend timeout (``set_autosuspend`` below the current timeout): ``activations
  x (timeout - new)/3600 x min CU x compute price``, activations of 30 days scaled to 730 h,
  an upper bound (``awake.py``).
- Kept awake (report, by its evidence) and ``disable_compute``: measured floor hours x min
  CU x compute price; ``delete_endpoint``: min CU x 730 h when it never scales to zero, else
  about $0 (``awake.py``).
- ``set_retention``: measured instant-restore GB-months x (1 - new/old) x restore price,
  approximate; ``delete_project``: every storage line of the project, its extra-branch fees
  and never-suspending computes; branches over the allowance (report): the fee of each one
  over it; ``set_project_defaults``: preventive, $0 with the formula (``project.py``).
- ``delete_snapshot``: its billed size (full, or diff when scheduled) / 10^9 x 730/744 x
  snapshot price; ``set_backup_retention``: the same over the branch's scheduled snapshots
  older than the retention, precision C (``snapshot.py``).
- Plan fit (report, by its evidence): the measured difference; guardrails (spending
  notification, project quotas): ``kind="risk"`` (``plan_fit.py``).
- Revoke an API key (``revoke``): ``kind="risk"``, 0 USD.
- Anything else: 0 USD, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from governor.model.actions import (
    DeleteAction,
    DeleteEndpointAction,
    DeleteProjectAction,
    DeleteSnapshotAction,
    DisableComputeAction,
    NoAction,
    ResizeAction,
    RevokeAction,
    SetAutosuspendAction,
    SetBackupRetentionAction,
    SetExpiryAction,
    SetProjectDefaultsAction,
    SetRetentionAction,
    SuspendAction,
)
from governor.model.findings import Estimate, Finding
from governor.policy.resources import SnapshotIndex
from governor.savings import awake, plan_fit, project, snapshot
from governor.savings.branch import delete_branch
from governor.savings.compute import autosuspend, resize
from governor.savings.plans import PlanChoice, plan_for
from governor.savings.prices import Prices
from governor.savings.usage import Usage


def estimate(
    finding: Finding, index: SnapshotIndex, prices: Prices, usage: Usage | None = None
) -> Estimate:
    """The monthly saving of carrying out ``finding.action`` (formulas: module docstring).

    Never negative: a negative figure can only come from values the API should not send.
    """
    try:
        result = _estimate(finding, index, prices, usage)
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
            parts=(),
            method=result.method + " The inputs give no finite amount (values from the API "
            "out of range), so no saving is claimed.",
        )
    if result.monthly_usd < 0:
        return replace(
            result,
            monthly_usd=0.0,
            parts=(),
            method=result.method + " The inputs give a negative amount (values from the API "
            "out of range), so no saving is claimed.",
        )
    return result


def _estimate(
    finding: Finding, index: SnapshotIndex, prices: Prices, usage: Usage | None
) -> Estimate:
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
            lead = f"Deleting branch {finding.resource_id}"
            return delete_branch(finding, index, plan, lead, usage)
        case SetExpiryAction() if resource == "branch":
            lead = (
                f"Expiring branch {finding.resource_id} (saves this once it is deleted at expiry)"
            )
            return delete_branch(finding, index, plan, lead, usage)
        case SetAutosuspendAction() if resource == "endpoint":
            endpoint = index.endpoints.get(finding.resource_id)
            if endpoint is not None and endpoint.suspend_timeout_seconds != -1:
                current = awake.effective_timeout(endpoint.suspend_timeout_seconds)
                if action.seconds != -1 and current > awake.effective_timeout(action.seconds):
                    return awake.shorter_timeout(finding, action.seconds, index, plan)
            return autosuspend(finding, index, plan, usage)
        case ResizeAction() if resource == "endpoint":
            return resize(finding, action, index, plan, usage)
        case SetRetentionAction() if resource == "project":
            return project.set_retention(finding, action.seconds, index, plan, usage)
        case DeleteProjectAction() if resource == "project":
            return project.delete_project(finding, index, plan, usage)
        case SetProjectDefaultsAction() if resource == "project":
            return project.set_project_defaults(finding, action, index, plan)
        case DeleteSnapshotAction() if resource == "snapshot":
            return snapshot.delete_snapshot(finding, index, plan)
        case SetBackupRetentionAction() if resource == "branch":
            return snapshot.set_backup_retention(finding, action.retention, index, plan)
        case DeleteEndpointAction() if resource == "endpoint":
            return awake.delete_endpoint(finding, index, plan)
        case DisableComputeAction() if resource == "endpoint":
            lead = f"Disabling compute {finding.resource_id}"
            return awake.kept_awake(finding, index, plan, usage, lead)
        case NoAction():
            found = _report_only(finding, index, prices, plan, usage)
            if found is not None:
                return found
            reason = "the policy only reports"
        case SuspendAction():
            reason = "a one-off suspend; the compute starts again on its next connection"
        case _:
            reason = "not an action with a cost this estimator knows how to count"
    return Estimate(0.0, f"No money estimate for {action.type!r} on a {resource}: {reason}.")


# What a report-only finding is about, from the fields its policy filters on (its evidence).
_KEPT_AWAKE_FIELDS = frozenset({"active_share_7d", "floor_share_7d", "hours_measured_7d"})
_ALLOWANCE_FIELDS = frozenset(
    {"extra_child_branches", "child_branch_count", "included_child_branches"}
)
_SPENDING_FIELDS = frozenset({"spending_limit_cents", "spending_limit_read"})
_PLAN_FIT_FIELDS = frozenset(
    {"scale_feature_count", "scale_features_used", "within_free_limits", "plan"}
)


def _report_only(
    finding: Finding, index: SnapshotIndex, prices: Prices, plan: PlanChoice, usage: Usage | None
) -> Estimate | None:
    """A report-only finding priced by what it is about; None: nothing known to price."""
    fields = set(finding.evidence)
    resource = finding.resource_type
    if resource == "endpoint" and fields & _KEPT_AWAKE_FIELDS:
        lead = f"Compute {finding.resource_id} kept awake"
        return awake.kept_awake(finding, index, plan, usage, lead)
    if resource == "project" and fields & _ALLOWANCE_FIELDS:
        return project.over_allowance(finding, index, plan, usage)
    if resource == "project" and any("quota" in name for name in fields):
        return plan_fit.guardrail(finding, "A project quota")
    if resource == "organization" and fields & _SPENDING_FIELDS:
        return plan_fit.guardrail(finding, "A spending notification")
    if resource == "organization" and fields & _PLAN_FIT_FIELDS:
        return plan_fit.plan_fit(finding, index, prices, plan, usage)
    return None


def with_estimates(
    findings: Sequence[Finding],
    index: SnapshotIndex,
    prices: Prices,
    usage: Usage | None = None,
) -> list[Finding]:
    """``findings`` with their estimates filled in, in the same order."""
    return [
        replace(finding, estimate=estimate(finding, index, prices, usage)) for finding in findings
    ]
