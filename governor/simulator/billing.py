"""The simulator's own bill: its usage ledger priced with Neon's published formulas.

Why here, independent of the governor: a test compares ``neon-governor costs`` with a bill
computed from the same meters by code that shares nothing with the governor's, so a
mistake in the governor's conversions cannot hide in both. Formulas (note §1.4, §3.6):
CU-seconds ÷ 3600 * the compute rate; storage byte-hours ÷ 744 ÷ 1e9 (decimal GB,
744-hour GB-month); extra branches netted per project per hourly bucket against
included - 1, then ÷ 744; public transfer beyond 100 GB org-wide (allocated pro rata to
projects); snapshots only from 2026-05-01; Free is never billed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from governor.simulator.timestamps import format_timestamp
from governor.simulator.usage import (
    CHILD_BRANCH_BYTES_MONTH,
    COMPUTE_UNIT_SECONDS,
    HOUR,
    HOURS_PER_BILLING_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    PRIVATE_NETWORK_TRANSFER_BYTES,
    PUBLIC_NETWORK_TRANSFER_BYTES,
    ROOT_BRANCH_BYTES_MONTH,
    UsageLedger,
)

BYTES_PER_GB = 1e9
SNAPSHOTS_BILLED_FROM = datetime(2026, 5, 1, tzinfo=UTC).timestamp()
LINES = (
    "compute",
    "root_storage",
    "child_storage",
    "instant_restore",
    "snapshots",
    "extra_branches",
    "public_transfer",
    "private_transfer",
)


@dataclass(frozen=True)
class Rates:
    """Neon's list prices (USD) of one plan, per the note's §1.2."""

    compute_per_cu_hour: float
    included_branches: int
    billed: bool = True
    storage_per_gb_month: float = 0.35
    instant_restore_per_gb_month: float = 0.20
    snapshot_per_gb_month: float = 0.09
    public_transfer_per_gb: float = 0.10
    public_transfer_included_gb: float = 100.0
    private_transfer_per_gb: float = 0.01
    extra_branch_per_month: float = 1.50


def rates_for(plan: str) -> Rates:
    """Launch and Agent at $0.106/CU-h with 10 branches; Free unbilled; others as Scale."""
    if plan.startswith("free"):
        return Rates(compute_per_cu_hour=0.0, included_branches=10, billed=False)
    if plan.startswith(("launch", "agent")):
        return Rates(compute_per_cu_hour=0.106, included_branches=10)
    return Rates(compute_per_cu_hour=0.222, included_branches=25)


def bill(
    ledger: UsageLedger, org_id: str, plan: str, start: datetime, end: datetime
) -> dict[str, Any]:
    """Per project and line item, the dollars of [start, end) (clipped to the ledger's now)."""
    if end <= start:
        raise ValueError("'from' must be before 'to'")
    rates = rates_for(plan)
    low, high = start.timestamp(), min(end.timestamp(), ledger.now)
    records = sorted(ledger.org_projects(org_id), key=lambda record: record.project_id)
    quantities: dict[str, dict[str, float]] = {}
    for record in records:
        values = ledger.project_values(record.project_id, low, high) if high > low else {}
        billable_snapshots = (
            ledger.snapshot_byte_hours(record.project_id, max(low, SNAPSHOTS_BILLED_FROM), high)
            if high > max(low, SNAPSHOTS_BILLED_FROM)
            else 0.0
        )
        quantities[record.project_id] = {
            "compute": values.get(COMPUTE_UNIT_SECONDS, 0.0) / HOUR,
            "root_storage": _gb_months(values.get(ROOT_BRANCH_BYTES_MONTH, 0.0)),
            "child_storage": _gb_months(values.get(CHILD_BRANCH_BYTES_MONTH, 0.0)),
            "instant_restore": _gb_months(values.get(INSTANT_RESTORE_BYTES_MONTH, 0.0)),
            "snapshots": _gb_months(billable_snapshots),
            "extra_branches": _extra_branch_months(
                ledger, record.project_id, low, high, rates.included_branches - 1
            ),
            "public_transfer": values.get(PUBLIC_NETWORK_TRANSFER_BYTES, 0.0) / BYTES_PER_GB,
            "private_transfer": values.get(PRIVATE_NETWORK_TRANSFER_BYTES, 0.0) / BYTES_PER_GB,
        }
    public_total = sum(amounts["public_transfer"] for amounts in quantities.values())
    public_billed = max(0.0, public_total - rates.public_transfer_included_gb)
    projects = []
    totals = dict.fromkeys(LINES, 0.0)
    for project_id, amounts in quantities.items():
        share = amounts["public_transfer"] / public_total if public_total else 0.0
        lines = {
            "compute": amounts["compute"] * rates.compute_per_cu_hour,
            "root_storage": amounts["root_storage"] * rates.storage_per_gb_month,
            "child_storage": amounts["child_storage"] * rates.storage_per_gb_month,
            "instant_restore": amounts["instant_restore"] * rates.instant_restore_per_gb_month,
            "snapshots": amounts["snapshots"] * rates.snapshot_per_gb_month,
            "extra_branches": amounts["extra_branches"] * rates.extra_branch_per_month,
            "public_transfer": public_billed * share * rates.public_transfer_per_gb,
            "private_transfer": amounts["private_transfer"] * rates.private_transfer_per_gb,
        }
        if not rates.billed:
            lines = dict.fromkeys(LINES, 0.0)
        for line, usd in lines.items():
            totals[line] += usd
        projects.append(
            {
                "project_id": project_id,
                "lines": lines,
                "quantities": amounts,
                "total_usd": sum(lines.values()),
            }
        )
    return {
        "org_id": org_id,
        "plan": plan,
        "billed": rates.billed,
        "from": format_timestamp(start),
        "to": format_timestamp(datetime.fromtimestamp(max(high, low), UTC)),
        "projects": projects,
        "lines": totals,
        "total_usd": sum(totals.values()),
        "public_transfer_included_gb": rates.public_transfer_included_gb,
    }


def _gb_months(byte_hours: float) -> float:
    return byte_hours / HOURS_PER_BILLING_MONTH / BYTES_PER_GB


def _extra_branch_months(
    ledger: UsageLedger, project_id: str, low: float, high: float, allowance: int
) -> float:
    """Σ over hourly buckets of max(0, child branch-hours - allowance * bucket hours) ÷ 744."""
    total = 0.0
    hour = (low // HOUR) * HOUR
    while hour < high:
        begin, finish = max(low, hour), min(high, hour + HOUR)
        branch_hours = ledger.child_branch_hours(project_id, begin, finish)
        total += max(0.0, branch_hours - allowance * (finish - begin) / HOUR)
        hour += HOUR
    return total / HOURS_PER_BILLING_MONTH
