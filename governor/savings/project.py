"""What project-level levers save: a shorter restore window, deleting a whole project,
the branches over the plan's allowance, and (preventive) the project's compute defaults.

Measured from the project's own consumption rows (``Usage.project_storage``: daily rows of
the last 30 days in the organization's calibrated unit) where they exist; else from object
fields, as bounds. Keys are shared with the other levers so totals count a dollar once:
``instant_restore:<project>`` (the restore window and a project delete), ``storage:<branch>``
(a branch delete), ``snapshot:<id>`` (a snapshot delete), ``branch_fee:<branch>`` (a branch
delete beyond the allowance; the fee is keyed on the oldest children first),
``compute_floor:<endpoint>``; what no other lever saves is ``project:<id>:<line>``.
"""

from __future__ import annotations

from datetime import timedelta

from governor.model.actions import SetProjectDefaultsAction
from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    ROOT_BRANCH_BYTES_MONTH,
    SNAPSHOT_STORAGE_BYTES_MONTH,
)
from governor.model.findings import Estimate, Finding
from governor.neon.models import Branch
from governor.policy.operators import parse_timestamp
from governor.policy.resources import SnapshotIndex
from governor.savings.compute import floor_line
from governor.savings.lookup import (
    child_branches,
    project_branches,
    project_snapshots,
    split,
)
from governor.savings.plans import Line, PlanChoice, Unit, priced
from governor.savings.snapshot import billed_bytes
from governor.savings.units import BYTES_PER_GB, HOURS_PER_GB_MONTH, HOURS_PER_MONTH
from governor.savings.usage import ProjectFigure, Usage

MONTH_SHARE = HOURS_PER_MONTH / HOURS_PER_GB_MONTH  # a 730-h month is 730/744 GB-month


def _measured(usage: Usage | None, project_id: str, metric: str) -> ProjectFigure | None:
    return usage.project_storage(project_id, metric) if usage is not None else None


def _gb_month_line(key: str, unit: Unit, gb_month: float, text: str) -> Line:
    """A line of ``gb_month`` GB-months per 744-h month, billed for a 730-h month."""
    return Line(key, unit, (round(gb_month, 6), MONTH_SHARE), text)


def _from(figure: ProjectFigure, metric: str) -> str:
    return (
        f"measured: {metric} of the last {figure.days:g} days ({figure.granularity} project "
        f"rows) = {figure.per_month:,.3f} GB-month per 744-h month x "
        f"{HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH}"
    )


def set_retention(
    finding: Finding, seconds: int, index: SnapshotIndex, plan: PlanChoice, usage: Usage | None
) -> Estimate:
    """``instant_restore x (1 - new/old) x r``: history kept scales with the window when the
    write rate is steady (approximate), on the measured instant-restore storage."""
    project = index.projects.get(finding.resource_id)
    lead = f"A {seconds}-second restore window on project {finding.resource_id}"
    if project is None:
        return Estimate(0.0, f"{lead}: the project is not in the snapshot, cost unknown.")
    old = project.history_retention_seconds
    if old is None or old <= 0:
        return Estimate(
            0.0,
            f"{lead}: its current restore window is unknown or off, so no saving is claimed. "
            f"{plan.label}",
        )
    if seconds >= old:
        return Estimate(
            0.0,
            f"{lead}: the current window ({old} s) is not longer, so nothing is saved. "
            f"{plan.label}",
        )
    figure = _measured(usage, project.id, INSTANT_RESTORE_BYTES_MONTH)
    if figure is None:
        return Estimate(
            0.0,
            f"{lead}: instant-restore storage not measured (no consumption rows for the "
            "project, or its organization's storage unit is not calibrated); only Neon's "
            f"meters tell the history's size, so no saving is claimed. {plan.label}",
        )
    share = 1 - seconds / old
    text = f"{_from(figure, INSTANT_RESTORE_BYTES_MONTH)} x (1 - {seconds}/{old})"
    line = Line(
        f"instant_restore:{project.id}",
        "restore_gb_month",
        (round(figure.per_month, 6), share, MONTH_SHARE),
        text,
    )
    notes = ["approximate: assumes a steady write rate (history kept scales with the window)"]
    if plan.prices.kind == "legacy":
        notes.append("on legacy plans a shorter window can raise storage for old branches")
    return priced(lead, [line], notes, plan, "measured")


def fee_lines(
    index: SnapshotIndex, project_id: str, plan: PlanChoice, usage: Usage | None
) -> tuple[list[Line], str, bool]:
    """The extra-branch fee of the child branches beyond the allowance (included - 1), one
    line per branch over it (oldest first), or why there is none; and whether measured."""
    prices = plan.prices
    allowance = max(0, prices.included_branches_per_project - 1)
    children = child_branches(index, project_id)
    over = children[: max(0, len(children) - allowance)]  # the oldest: stale ones go first
    measured = usage.extra_branch_months(project_id, allowance) if usage is not None else None
    if measured is not None:
        if measured.per_month <= 0:
            return [], f"measured: no child branch-hours beyond the {allowance} allowed", True
        months = measured.per_month
        words = (
            f"measured: extra_branches_month over the last {measured.days:g} days, netted per "
            f"hour beyond {allowance} child branches = {months:,.3f} branch-months per month"
        )
        if not over:
            key = f"project:{project_id}:extra_branches"
            return [Line(key, "branch_month", (round(months, 6),), words)], "", True
        each = months / len(over)
        lines = [
            Line(
                f"branch_fee:{branch.id}",
                "branch_month",
                (round(each, 6),),
                f"branch {branch.id}'s share of {words} (1 of {len(over)} over it)",
            )
            for branch in over
        ]
        return lines, "", True
    org_id = index.projects[project_id].org_id if project_id in index.projects else None
    if not index.snapshot.covers("branch", org_id, project_id):
        return [], "branch count unknown (branch list incomplete), no extra-branch fee", False
    if not over:
        return (
            [],
            f"{len(children)} child branches, within the {allowance} the plan allows",
            False,
        )
    lines = [
        Line(
            f"branch_fee:{branch.id}",
            "branch_month",
            (MONTH_SHARE,),
            f"branch {branch.id}, one of {len(over)} beyond the {allowance} child branches "
            f"the plan allows: {HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH} branch-month",
        )
        for branch in over
    ]
    return lines, "", False


def over_allowance(
    finding: Finding, index: SnapshotIndex, plan: PlanChoice, usage: Usage | None
) -> Estimate:
    """Report only: the fee the branches over the allowance cost a month."""
    lead = f"Branches over the allowance on project {finding.resource_id}"
    if finding.resource_id not in index.projects:
        return Estimate(0.0, f"{lead}: the project is not in the snapshot, cost unknown.")
    lines, why, measured = fee_lines(index, finding.resource_id, plan, usage)
    if not lines:
        return Estimate(0.0, f"{lead}: {why}, so no fee. {plan.label}")
    return priced(lead, lines, [], plan, "measured" if measured else "estimated")


def _storage_lines(
    project_id: str,
    roots: list[Branch],
    children: list[Branch],
    usage: Usage | None,
) -> tuple[list[Line], list[str], bool]:
    """Root and child storage: measured project rows split per child branch where the
    branch's own rows are known, else each branch's logical size (a bound)."""
    lines: list[Line] = []
    notes: list[str] = []
    measured = False
    root = _measured(usage, project_id, ROOT_BRANCH_BYTES_MONTH)
    if root is not None:
        measured = True
        if root.per_month > 0:
            lines.append(
                _gb_month_line(
                    f"project:{project_id}:root_storage",
                    "gb_month",
                    root.per_month,
                    f"root storage {_from(root, ROOT_BRANCH_BYTES_MONTH)}",
                )
            )
    else:
        sizes = [b.logical_size for b in roots if b.logical_size is not None and b.logical_size > 0]
        if sizes:
            gigabytes = sum(sizes) / BYTES_PER_GB
            lines.append(
                Line(
                    f"project:{project_id}:root_storage",
                    "gb_month",
                    (gigabytes, MONTH_SHARE),
                    f"root storage {gigabytes:,.2f} GB (root branches' logical_size / 10^9) x "
                    f"{HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH} GB-month",
                )
            )
        else:
            notes.append("root storage unknown (no logical_size on its root branches)")
    per_branch: list[tuple[str, float]] = []
    bounds: list[str] = []
    for branch in children:
        child = usage.child_storage(branch.id) if usage is not None else None
        if child is not None:
            per_branch.append((branch.id, child.gb_month_per_month))
        elif branch.logical_size is not None and branch.logical_size > 0:
            # logical_size is a bound on a 744-h month's GB-months
            per_branch.append((branch.id, branch.logical_size / BYTES_PER_GB))
            bounds.append(branch.id)
    total = _measured(usage, project_id, CHILD_BRANCH_BYTES_MONTH)
    if total is not None:
        measured = True
        scaled, rest = split(total.per_month, per_branch)
        for branch_id, amount in scaled:
            if amount > 0:
                lines.append(
                    _gb_month_line(
                        f"storage:{branch_id}",
                        "gb_month",
                        amount,
                        f"child branch {branch_id}'s part of the project's child storage "
                        f"({_from(total, CHILD_BRANCH_BYTES_MONTH)})",
                    )
                )
        if rest > 0:
            lines.append(
                _gb_month_line(
                    f"project:{project_id}:child_storage",
                    "gb_month",
                    rest,
                    f"the rest of the project's child storage "
                    f"({_from(total, CHILD_BRANCH_BYTES_MONTH)})",
                )
            )
        return lines, notes, measured
    for branch_id, amount in per_branch:
        bound = branch_id in bounds
        measured = measured or not bound
        how = "logical_size, an upper bound" if bound else "measured child_branch_bytes_month"
        lines.append(
            _gb_month_line(
                f"storage:{branch_id}",
                "gb_month",
                amount,
                f"child branch {branch_id} {amount:,.3f} GB-month ({how}) x "
                f"{HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH}",
            )
        )
    return lines, notes, measured


def _snapshot_lines(
    index: SnapshotIndex, project_id: str, usage: Usage | None
) -> tuple[list[Line], list[str], bool]:
    pieces: list[tuple[str, float]] = []
    for snapshot in project_snapshots(index, project_id):
        size, _ = billed_bytes(snapshot)
        if size is not None:
            pieces.append((snapshot.id, size / BYTES_PER_GB))
    total = _measured(usage, project_id, SNAPSHOT_STORAGE_BYTES_MONTH)
    if total is not None:
        scaled, rest = split(total.per_month, pieces)
        lines = [
            _gb_month_line(
                f"snapshot:{snapshot_id}",
                "snapshot_gb_month",
                amount,
                f"snapshot {snapshot_id}'s part of {_from(total, SNAPSHOT_STORAGE_BYTES_MONTH)}",
            )
            for snapshot_id, amount in scaled
            if amount > 0
        ]
        if rest > 0:
            lines.append(
                _gb_month_line(
                    f"project:{project_id}:snapshots",
                    "snapshot_gb_month",
                    rest,
                    f"the rest of the project's snapshots "
                    f"({_from(total, SNAPSHOT_STORAGE_BYTES_MONTH)})",
                )
            )
        return lines, [], True
    if not index.snapshot.covers("snapshot", index.projects[project_id].org_id, project_id):
        return [], ["snapshots unknown (snapshot list not read)"], False
    lines = [
        _gb_month_line(
            f"snapshot:{snapshot_id}",
            "snapshot_gb_month",
            amount,
            f"snapshot {snapshot_id} {amount:,.2f} GB (its billed size / 10^9) x "
            f"{HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH}",
        )
        for snapshot_id, amount in pieces
    ]
    return lines, [], False


def delete_project(
    finding: Finding, index: SnapshotIndex, plan: PlanChoice, usage: Usage | None
) -> Estimate:
    """Every storage line the project pays, its extra-branch fees and any compute that never
    scales to zero (note L12)."""
    lead = f"Deleting project {finding.resource_id}"
    project = index.projects.get(finding.resource_id)
    if project is None:
        return Estimate(0.0, f"{lead}: the project is not in the snapshot, cost unknown.")
    branches = project_branches(index, project.id)
    roots = [branch for branch in branches if not branch.parent_id]
    lines, notes, measured = _storage_lines(
        project.id, roots, child_branches(index, project.id), usage
    )
    if not lines and not roots and project.synthetic_storage_size:
        gigabytes = project.synthetic_storage_size / BYTES_PER_GB
        lines.append(
            Line(
                f"project:{project.id}:storage",
                "gb_month",
                (gigabytes, MONTH_SHARE),
                f"storage {gigabytes:,.2f} GB (synthetic_storage_size / 10^9) x "
                f"{HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH} GB-month",
            )
        )
    restore = _measured(usage, project.id, INSTANT_RESTORE_BYTES_MONTH)
    if restore is not None:
        measured = True
        if restore.per_month > 0:
            lines.append(
                _gb_month_line(
                    f"instant_restore:{project.id}",
                    "restore_gb_month",
                    restore.per_month,
                    f"instant restore {_from(restore, INSTANT_RESTORE_BYTES_MONTH)}",
                )
            )
    else:
        notes.append("instant-restore storage not measured (only Neon's meters tell it)")
    found, snapshot_notes, snapshots_measured = _snapshot_lines(index, project.id, usage)
    lines += found
    notes += snapshot_notes
    measured = measured or snapshots_measured
    fees, why, fees_measured = fee_lines(index, project.id, plan, usage)
    lines += fees
    if why:
        notes.append(why)
    measured = measured or fees_measured
    for branch in branches:
        for endpoint in index.endpoints_by_branch.get(branch.id, []):
            line, _note, was_measured = floor_line(endpoint, index, usage)
            if line is not None:
                lines.append(line)
                measured = measured or was_measured
    notes.append("Neon keeps a deleted project recoverable for 7 days")
    return priced(lead, lines, notes, plan, "measured" if measured else "estimated")


def set_project_defaults(
    finding: Finding, action: SetProjectDefaultsAction, index: SnapshotIndex, plan: PlanChoice
) -> Estimate:
    """Preventive (precision C): $0 with the reason and the formula."""
    settings = ", ".join(
        f"{key} {value}" for key, value in action.as_json().items() if key != "type"
    )
    lead = f"New compute defaults ({settings}) on project {finding.resource_id}"
    project = index.projects.get(finding.resource_id)
    recent = ""
    if project is not None:
        since = (parse_timestamp(index.snapshot.taken_at) or index.snapshot.taken_at) - timedelta(
            days=30
        )
        created = [
            branch
            for branch in project_branches(index, project.id)
            if (moment := parse_timestamp(branch.created_at)) is not None and moment >= since
        ]
        count = len(created)
        recent = f" ({count} branch{'' if count == 1 else 'es'} created in the last 30 days)"
    return Estimate(
        0.0,
        f"{lead}: preventive, so no dollars are claimed: Neon applies defaults only to "
        f"computes created later{recent}, and what those save (new computes a month x their "
        "idle hours x the CU the new defaults take off x the compute price) depends on "
        f"computes that do not exist yet (precision C). {plan.label}",
    )
