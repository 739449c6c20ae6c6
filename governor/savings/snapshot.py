"""What deleting a snapshot or bounding a backup schedule's retention saves (note L11).

Why from object fields: Neon meters snapshots per project only
(``snapshot_storage_bytes_month``), so one snapshot is priced from its own sizes: a manual
snapshot is billed at ``full_size``, a scheduled one at ``diff_size`` (incremental after the
first) when it has one; ``full_size`` absent or 0 means Neon does not charge it. Snapshots
are billed per 744-hour GB-month at the plan's snapshot price ($0.09 since 2026-05-01), so a
730-hour month is 730/744 of a GB-month. Parts are keyed ``snapshot:<id>``, shared with a
project delete's snapshot lines.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from governor.model.findings import Estimate, Finding
from governor.neon.models import ProjectSnapshot
from governor.policy.operators import parse_timestamp
from governor.policy.resources import SnapshotIndex
from governor.savings.lookup import project_snapshots, snapshot_by_id
from governor.savings.plans import Line, PlanChoice, priced
from governor.savings.units import BYTES_PER_GB, HOURS_PER_GB_MONTH, HOURS_PER_MONTH

MONTH_SHARE = HOURS_PER_MONTH / HOURS_PER_GB_MONTH


def billed_bytes(snapshot: ProjectSnapshot) -> tuple[int | None, str]:
    """The bytes Neon bills for ``snapshot`` and which field says so; None: not billed
    (the words say why)."""
    full = snapshot.full_size
    if full is None or full <= 0:
        state = "absent" if full is None else str(full)
        return None, f"its full_size is {state}, so Neon does not charge it"
    diff = snapshot.diff_size
    if not snapshot.manual and diff is not None and diff > 0:
        return diff, f"scheduled, billed on its diff_size {diff:,} bytes"
    return full, f"billed on its full_size {full:,} bytes"


def snapshot_line(snapshot: ProjectSnapshot) -> tuple[Line | None, str]:
    """The snapshot's monthly storage as a line, or why there is none."""
    size, how = billed_bytes(snapshot)
    if size is None:
        return None, f"snapshot {snapshot.id}: {how}"
    gigabytes = size / BYTES_PER_GB
    text = (
        f"snapshot {snapshot.id} {how} = {gigabytes:,.2f} GB x "
        f"{HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH} GB-month"
    )
    return Line(f"snapshot:{snapshot.id}", "snapshot_gb_month", (gigabytes, MONTH_SHARE), text), ""


def delete_snapshot(finding: Finding, index: SnapshotIndex, plan: PlanChoice) -> Estimate:
    lead = f"Deleting snapshot {finding.resource_id}"
    snapshot = snapshot_by_id(index, finding.resource_id)
    if snapshot is None:
        return Estimate(0.0, f"{lead}: the snapshot is not in the list read, cost unknown.")
    line, why = snapshot_line(snapshot)
    if line is None:
        return Estimate(0.0, f"{lead}: {why}, so deleting it saves nothing. {plan.label}")
    notes = []
    if not snapshot.manual:
        notes.append(
            "a scheduled snapshot: deleting one incremental may not free its diff (unverified)"
        )
    return priced(lead, [line], notes, plan)


def set_backup_retention(
    finding: Finding, retention: timedelta, index: SnapshotIndex, plan: PlanChoice
) -> Estimate:
    """Precision C: what the branch's scheduled snapshots older than ``retention`` cost."""
    lead = f"A {retention.days}-day backup retention on branch {finding.resource_id}"
    if retention.total_seconds() % 86400:
        lead = f"A {int(retention.total_seconds())}-second backup retention on branch " + (
            finding.resource_id
        )
    branch = index.branches.get(finding.resource_id)
    project_id = branch.project_id if branch else finding.project_id
    if not project_id or not index.snapshot.covers("snapshot", finding.org_id, project_id):
        return Estimate(
            0.0,
            f"{lead}: the project's snapshot list was not read, so the scheduled snapshots the "
            f"retention would remove are unknown; no saving is claimed. {plan.label}",
        )
    taken_at = parse_timestamp(index.snapshot.taken_at) or index.snapshot.taken_at
    cutoff: datetime = taken_at - retention
    lines: list[Line] = []
    notes: list[str] = []
    for snapshot in project_snapshots(index, project_id):
        created = parse_timestamp(snapshot.created_at)
        if (
            snapshot.manual
            or snapshot.source_branch_id != finding.resource_id
            or snapshot.expires_at is not None
            or created is None
            or created >= cutoff
        ):
            continue
        line, why = snapshot_line(snapshot)
        if line is None:
            notes.append(why)
        else:
            lines.append(line)
    if not lines and not notes:
        return Estimate(
            0.0,
            f"{lead}: no scheduled snapshot of the branch without an expiry is older than the "
            f"retention, so nothing is saved now; the retention stops the schedule's storage "
            f"from growing without bound. {plan.label}",
        )
    notes.append(
        "precision C: assumes Neon applies the new retention to snapshots already taken "
        "(unverified) and that removing a scheduled incremental frees its diff (unverified)"
    )
    return priced(lead, lines, notes, plan)
