"""What deleting (or expiring) a branch saves: its storage, always-on computes, branch fee."""

from __future__ import annotations

from governor.model.findings import Estimate, Finding
from governor.policy.resources import SnapshotIndex
from governor.savings.compute import floor_line
from governor.savings.lookup import child_branches
from governor.savings.plans import Line, PlanChoice, priced
from governor.savings.units import BYTES_PER_GB, HOURS_PER_GB_MONTH, HOURS_PER_MONTH
from governor.savings.usage import Usage

MONTH_SHARE = HOURS_PER_MONTH / HOURS_PER_GB_MONTH  # a 730-h month is 730/744 GB-month


def delete_branch(
    finding: Finding,
    index: SnapshotIndex,
    plan: PlanChoice,
    lead: str,
    usage: Usage | None = None,
) -> Estimate:
    branch = index.branches.get(finding.resource_id)
    if branch is None:
        return Estimate(
            0.0, f"{lead}: branch {finding.resource_id} is not in the snapshot, cost unknown."
        )
    lines: list[Line] = []
    notes: list[str] = []
    measured = False
    child = usage.child_storage(branch.id) if usage is not None else None
    if child is not None:
        measured = True
        lines.append(
            Line(
                f"storage:{branch.id}",
                "gb_month",
                (round(child.gb_month_per_month, 6), MONTH_SHARE),
                f"storage measured: child_branch_bytes_month over the last {child.days} days "
                f"({child.unit.replace('_', '-')}) = {child.gb_month_per_month:,.3f} GB-month "
                f"per 744-h month x {HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH}",
            )
        )
    elif branch.logical_size is None or branch.logical_size < 0:
        state = "missing" if branch.logical_size is None else "negative"
        notes.append(f"storage unknown (logical_size {state})")
    else:
        gigabytes = branch.logical_size / BYTES_PER_GB
        lines.append(
            Line(
                f"storage:{branch.id}",
                "gb_month",
                (gigabytes, MONTH_SHARE),
                f"storage {gigabytes:,.2f} GB (logical_size {branch.logical_size:,} bytes / 10^9) "
                f"x {HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH} GB-month",
            )
        )
        notes.append(
            "the storage is an upper bound: a child branch is billed on min(its changes, its "
            "logical size) and shares storage with its parent"
        )
    computes = index.endpoints_by_branch.get(branch.id, [])
    if not computes:
        notes.append("no computes")
    for endpoint in computes:
        line, note, was_measured = floor_line(endpoint, index, usage)
        if line is None:
            notes.append(note)
            continue
        measured = measured or was_measured
        lines.append(line)
    fee, why = _extra_branch_fee(finding, index, plan, branch.project_id)
    if fee is None:
        notes.append(why)
    else:
        lines.append(fee)
    return priced(lead, lines, notes, plan, "measured" if measured else "estimated")


def _extra_branch_fee(
    finding: Finding, index: SnapshotIndex, plan: PlanChoice, project_id: str
) -> tuple[Line | None, str]:
    """The extra-branch fee deleting the branch saves (a line), or why there is none."""
    prices = plan.prices
    count = index.branches_per_project.get(project_id, 0)
    included = prices.included_branches_per_project
    project = index.projects.get(project_id)
    org_id = finding.org_id or (project.org_id if project else None)
    if not index.snapshot.covers("branch", org_id, project_id):
        return None, "branch count unknown (branch list incomplete), no extra-branch charge counted"
    if count > included and prices.extra_branch_per_month > 0:
        return Line(
            _fee_key(index, project_id, finding.resource_id, count - included),
            "branch_month",
            (MONTH_SHARE,),
            f"the project has {count} branches and the plan includes {included}, so "
            f"1 extra branch x {HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH} branch-month",
        ), ""
    if count > included:
        return None, f"the project has {count} branches; the plan charges no extra-branch fee"
    return None, f"the project has {count} of {included} included branches, no extra charge"


def _fee_key(index: SnapshotIndex, project_id: str, branch_id: str, over: int) -> str:
    """The fee slot a delete frees: deleting any child saves one fee while the project is
    over, but ``over`` deletes save ``over`` fees at most. So the branch's slot is one of the
    ``over`` oldest children (the keys ``branches-over-allowance`` uses, in rotation): the
    totals count each slot once, however many stale branches would free it."""
    children = [branch.id for branch in child_branches(index, project_id)]
    slots = children[:over]
    if not slots or branch_id not in children:
        return f"branch_fee:{branch_id}"
    return f"branch_fee:{slots[children.index(branch_id) % len(slots)]}"
