"""What deleting (or expiring) a branch saves: its storage, always-on computes, branch fee."""

from __future__ import annotations

from governor.model.findings import Estimate, Finding
from governor.policy.resources import SnapshotIndex
from governor.savings.compute import never_scales_to_zero
from governor.savings.money import cents, cu, unit_price, usd
from governor.savings.plans import PlanChoice
from governor.savings.prices import HOURS_PER_MONTH

BYTES_PER_GB = 2**30


def delete_branch(finding: Finding, index: SnapshotIndex, plan: PlanChoice, lead: str) -> Estimate:
    branch = index.branches.get(finding.resource_id)
    if branch is None:
        return Estimate(
            0.0, f"{lead}: branch {finding.resource_id} is not in the snapshot, cost unknown."
        )
    prices = plan.prices
    parts: list[str] = []
    total = 0.0
    if branch.logical_size is None or branch.logical_size < 0:
        state = "missing" if branch.logical_size is None else "negative"
        parts.append(f"storage unknown (logical_size {state})")
    else:
        gigabytes = branch.logical_size / BYTES_PER_GB
        storage = cents(gigabytes, prices.storage_per_gb_month)
        total += storage
        parts.append(
            f"storage {gigabytes:,.2f} GB (logical_size {branch.logical_size:,} bytes / 2^30) "
            f"x {unit_price(prices.storage_per_gb_month)}/GB-month = {usd(storage)}, "
            "an upper bound since branches share storage with their parent"
        )
    computes = index.endpoints_by_branch.get(branch.id, [])
    if not computes:
        parts.append("no computes")
    for endpoint in computes:
        reason = never_scales_to_zero(endpoint)
        if reason is None:
            parts.append(
                f"compute {endpoint.id} suspends when idle, so about $0 while the branch is idle"
            )
            continue
        cost = cents(endpoint.autoscaling_limit_min_cu, HOURS_PER_MONTH, prices.compute_per_cu_hour)
        total += cost
        parts.append(
            f"compute {endpoint.id} never scales to zero ({reason}): "
            f"{cu(endpoint.autoscaling_limit_min_cu)} x {HOURS_PER_MONTH:g} h "
            f"x {unit_price(prices.compute_per_cu_hour)}/CU-hour = {usd(cost)}"
        )
    fee, why = _extra_branch_fee(finding, index, plan, branch.project_id)
    total += fee
    parts.append(why)
    total = cents(total)
    method = f"{lead}: " + "; ".join(parts) + f". Total {usd(total)}/month. {plan.label}"
    return Estimate(total, method)


def _extra_branch_fee(
    finding: Finding, index: SnapshotIndex, plan: PlanChoice, project_id: str
) -> tuple[float, str]:
    """The extra-branch fee deleting the branch saves, and why."""
    prices = plan.prices
    count = index.branches_per_project.get(project_id, 0)
    included = prices.included_branches_per_project
    project = index.projects.get(project_id)
    org_id = finding.org_id or (project.org_id if project else None)
    if not index.snapshot.covers("branch", org_id, project_id):
        return 0.0, "branch count unknown (branch list incomplete), no extra-branch charge counted"
    if count > included:
        return prices.extra_branch_per_month, (
            f"the project has {count} branches and the plan includes {included}, so "
            f"+ {usd(prices.extra_branch_per_month)} extra-branch-month"
        )
    return 0.0, f"the project has {count} of {included} included branches, no extra charge"
