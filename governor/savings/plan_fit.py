"""Report-only organization levers: plan fit (note L14) and guardrails (L16).

Why measured only: no API changes a plan, so the finding is worth what the organization's
own metered usage would cost on the other plan; without its meters there is nothing to
claim. Scale -> Launch saves ``Σ CU-h x (Scale - Launch rate)`` minus the extra-branch fees
Launch's smaller allowance adds; Launch -> Free saves the whole metered bill; a legacy plan
saves its base fee plus overage minus the same usage at Launch prices (Neon refuses its
meters on legacy plans, so from each project's counters when they were not read: C).
Storage figures are GB-months per 744-hour month, billed for a 730-hour month (x 730/744).
The saving is one cost, ``plan_fit:<org>``, that no other lever shares.
"""

from __future__ import annotations

from dataclasses import dataclass

from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    ROOT_BRANCH_BYTES_MONTH,
    SNAPSHOT_STORAGE_BYTES_MONTH,
)
from governor.model.findings import CostPart, Estimate, Finding
from governor.policy.operators import parse_timestamp
from governor.policy.resources import SnapshotIndex
from governor.savings.money import cents, unit_price, usd
from governor.savings.plans import PlanChoice
from governor.savings.prices import PlanPrices, Prices
from governor.savings.units import BYTES_PER_GB, HOURS_PER_GB_MONTH, HOURS_PER_MONTH
from governor.savings.usage import Usage

MONTH_SHARE = HOURS_PER_MONTH / HOURS_PER_GB_MONTH


@dataclass
class Metered:
    """An organization's metered usage per 730-hour month, over the projects read."""

    cu_hours: float = 0.0
    storage: float = 0.0  # root + child GB-months
    restore: float = 0.0
    snapshots: float = 0.0
    read: int = 0
    projects: int = 0

    def bill(self, prices: PlanPrices, extra_branches: float) -> tuple[float, str]:
        """What this usage costs on ``prices`` (usage-based), and the words."""
        parts = [
            (self.cu_hours, prices.compute_per_cu_hour, "CU-h"),
            (self.storage, prices.storage_per_gb_month, "GB-month storage"),
            (self.restore, prices.instant_restore_per_gb_month, "GB-month instant restore"),
            (self.snapshots, prices.snapshot_per_gb_month, "GB-month snapshots"),
            (extra_branches, prices.extra_branch_per_month, "extra branch-months"),
        ]
        total = cents(sum(cents(quantity, price) for quantity, price, _ in parts))
        words = " + ".join(
            f"{quantity:,.2f} {name} x {unit_price(price)}"
            for quantity, price, name in parts
            if quantity > 0
        )
        return total, words or "no metered usage"


def _metered(org_id: str, index: SnapshotIndex, usage: Usage) -> tuple[Metered, list[str]]:
    found = Metered()
    projects = [project.id for project in index.projects.values() if project.org_id == org_id]
    found.projects = len(projects)
    read: list[str] = []
    for project_id in projects:
        compute = usage.project_cu_hours(project_id)
        storage = [
            usage.project_storage(project_id, metric)
            for metric in (
                ROOT_BRANCH_BYTES_MONTH,
                CHILD_BRANCH_BYTES_MONTH,
                INSTANT_RESTORE_BYTES_MONTH,
                SNAPSHOT_STORAGE_BYTES_MONTH,
            )
        ]
        if compute is None or any(figure is None for figure in storage):
            continue
        root, child, restore, snapshots = (
            figure.per_month * MONTH_SHARE if figure is not None else 0.0 for figure in storage
        )
        found.cu_hours += compute.per_month
        found.storage += root + child
        found.restore += restore
        found.snapshots += snapshots
        read.append(project_id)
    found.read = len(read)
    return found, read


def _extra_branches(
    index: SnapshotIndex, usage: Usage, projects: list[str], allowance: int
) -> float:
    """Branch-months a month beyond ``allowance`` child branches, over ``projects``:
    measured hourly where read, else today's child count held all month."""
    total = 0.0
    for project_id in projects:
        measured = usage.extra_branch_months(project_id, allowance)
        if measured is not None:
            total += measured.per_month
        else:
            over = max(0, index.child_branches_per_project[project_id] - allowance)
            total += over * MONTH_SHARE
    return total


def plan_fit(
    finding: Finding,
    index: SnapshotIndex,
    prices: Prices,
    plan: PlanChoice,
    usage: Usage | None,
) -> Estimate:
    org_id = finding.org_id or finding.resource_id
    lead = f"Plan fit for organization {org_id}"
    current = plan.prices
    if current.kind == "free":
        return Estimate(0.0, f"{lead}: already on the Free plan, nothing to save. {plan.label}")
    if current.kind == "custom":
        return Estimate(
            0.0, f"{lead}: a custom (Enterprise) plan, no published price to compare. {plan.label}"
        )
    metered, read = _metered(org_id, index, usage) if usage is not None else (Metered(), [])
    if not read and current.kind == "legacy":
        # Neon refuses the consumption API on legacy plans: their own counters instead
        return _legacy_from_fields(
            org_id, lead, index, legacy=current, launch=prices.for_plan("launch"), plan=plan
        )
    if usage is None:
        return Estimate(
            0.0,
            f"{lead}: no consumption meters read, so the difference is unknown; no saving is "
            f"claimed. {plan.label}",
        )
    if not read:
        return Estimate(
            0.0,
            f"{lead}: none of its {metered.projects} projects has metered usage read (or its "
            f"storage unit is not calibrated), so no saving is claimed. {plan.label}",
        )
    coverage = f"metered over {metered.read} of its {metered.projects} projects"
    launch = prices.for_plan("launch")
    launch_allowance = max(0, launch.included_branches_per_project - 1)
    if current.kind == "legacy":
        extra = _extra_branches(index, usage, read, launch_allowance)
        usage_bill, words = metered.bill(launch, extra)
        over_compute = max(0.0, metered.cu_hours - current.compute_hours_included)
        over_storage = max(0.0, metered.storage - current.storage_gb_month_included)
        legacy_bill = cents(
            current.base_fee_per_month
            + cents(over_compute, current.compute_per_cu_hour)
            + cents(over_storage, current.storage_per_gb_month)
        )
        saving = cents(legacy_bill - usage_bill)
        how = (
            f"legacy {usd(current.base_fee_per_month)} base + {over_compute:,.2f} CU-h over the "
            f"allowance x {unit_price(current.compute_per_cu_hour)} + {over_storage:,.2f} "
            f"GB-month over it x {unit_price(current.storage_per_gb_month)} = "
            f"{usd(legacy_bill)}; the same usage on Launch: {words} = {usd(usage_bill)}"
        )
        note = (
            "the switch is one-way; legacy storage is synthetic (data plus history), compared "
            "here on the usage-based meters"
        )
    elif plan.plan_id == "launch":
        extra = _extra_branches(index, usage, read, launch_allowance)
        saving, words = metered.bill(current, extra)
        how = f"the whole metered bill on Free's limits: {words} = {usd(saving)}"
        note = "public transfer is not counted; Free suspends computes at its limits"
    elif plan.plan_id == "scale":
        own_allowance = max(0, current.included_branches_per_project - 1)
        extra_launch = _extra_branches(index, usage, read, launch_allowance)
        extra_own = _extra_branches(index, usage, read, own_allowance)
        rate = current.compute_per_cu_hour - launch.compute_per_cu_hour
        compute = cents(metered.cu_hours, round(rate, 6))
        fees = cents(max(0.0, extra_launch - extra_own), launch.extra_branch_per_month)
        saving = cents(compute - fees)
        how = (
            f"{metered.cu_hours:,.2f} CU-h x ({unit_price(current.compute_per_cu_hour)} - "
            f"{unit_price(launch.compute_per_cu_hour)}) = {usd(compute)}, minus "
            f"{max(0.0, extra_launch - extra_own):,.2f} extra branch-months Launch's "
            f"{launch_allowance}-branch allowance adds x "
            f"{unit_price(launch.extra_branch_per_month)} = {usd(fees)}"
        )
        note = "Scale-only feature use is inferred from object fields"
    else:
        return Estimate(
            0.0,
            f"{lead}: plan {plan.plan_id!r} has no cheaper plan to compare with (plan fit "
            f"compares Scale with Launch, Launch with Free, legacy with Launch). {plan.label}",
        )
    if saving <= 0:
        return Estimate(
            0.0,
            f"{lead} ({coverage}): {how}; the other plan does not cost less, so nothing is "
            f"saved. {plan.label}",
            "measured",
        )
    return Estimate(
        saving,
        f"{lead} ({coverage}): {how}. Saves {usd(saving)}/month; {note}. Report only: no API "
        f"changes a plan. {plan.label}",
        "measured",
        (CostPart(f"plan_fit:{org_id}", saving),),
    )


def _legacy_from_fields(
    org_id: str,
    lead: str,
    index: SnapshotIndex,
    *,
    legacy: PlanPrices,
    launch: PlanPrices,
    plan: PlanChoice,
) -> Estimate:
    """Precision C: each project's ``compute_time_seconds`` this period scaled to a 730-hour
    month, and its ``synthetic_storage_size`` held all month, priced on both plans."""
    taken_at = parse_timestamp(index.snapshot.taken_at) or index.snapshot.taken_at
    cu_hours = storage = 0.0
    counted = total = 0
    for project in index.projects.values():
        if project.org_id != org_id:
            continue
        total += 1
        seconds = project.raw.get("compute_time_seconds")
        start = parse_timestamp(project.raw.get("consumption_period_start"))
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or start is None:
            continue
        elapsed = (taken_at - start).total_seconds() / 3600
        if elapsed <= 0 or seconds < 0:
            continue
        counted += 1
        cu_hours += seconds / 3600 * HOURS_PER_MONTH / elapsed
        storage += (project.synthetic_storage_size or 0) / BYTES_PER_GB
    if not counted:
        return Estimate(
            0.0,
            f"{lead}: Neon's meters are not offered on legacy plans and no project has "
            "compute_time_seconds and consumption_period_start, so the difference is unknown. "
            f"{plan.label}",
        )
    cu_hours = round(cu_hours, 1)
    over_compute = max(0.0, cu_hours - legacy.compute_hours_included)
    over_storage = max(0.0, storage - legacy.storage_gb_month_included)
    legacy_bill = cents(
        legacy.base_fee_per_month
        + cents(over_compute, legacy.compute_per_cu_hour)
        + cents(over_storage, legacy.storage_per_gb_month)
    )
    usage_bill = cents(
        cents(cu_hours, launch.compute_per_cu_hour)
        + cents(storage, MONTH_SHARE, launch.storage_per_gb_month)
    )
    saving = cents(legacy_bill - usage_bill)
    how = (
        f"from {counted} of its {total} projects' counters (compute_time_seconds this period "
        f"scaled to {HOURS_PER_MONTH} h = {cu_hours:,.1f} CU-h; synthetic_storage_size "
        f"{storage:,.2f} GB held all month): legacy {usd(legacy.base_fee_per_month)} base + "
        f"{over_compute:,.1f} CU-h over x {unit_price(legacy.compute_per_cu_hour)} + "
        f"{over_storage:,.2f} GB-month over x {unit_price(legacy.storage_per_gb_month)} = "
        f"{usd(legacy_bill)}; on Launch {cu_hours:,.1f} CU-h x "
        f"{unit_price(launch.compute_per_cu_hour)} + {storage:,.2f} GB x "
        f"{HOURS_PER_MONTH}/{HOURS_PER_GB_MONTH} x {unit_price(launch.storage_per_gb_month)} = "
        f"{usd(usage_bill)}"
    )
    caveat = (
        "precision C: Neon's meters are not offered on legacy plans, and synthetic storage "
        "(data plus history) stands in for the usage-based storage lines; the switch is one-way"
    )
    if saving <= 0:
        return Estimate(0.0, f"{lead}: {how}; Launch does not cost less. {caveat}. {plan.label}")
    return Estimate(
        saving,
        f"{lead}: {how}. Saves {usd(saving)}/month; {caveat}. Report only: no API changes a "
        f"plan. {plan.label}",
        "estimated",
        (CostPart(f"plan_fit:{org_id}", saving),),
    )


def guardrail(finding: Finding, about: str) -> Estimate:
    return Estimate(
        0.0,
        f"{about} on {finding.resource_type} {finding.resource_id} saves risk, not money: it "
        "bounds the next surprise bill.",
        "risk",
    )
