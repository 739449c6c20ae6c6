"""A rate card for the bill's tests: Neon's Scale and Launch list prices (notes §1.2)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    compute_per_cu_hour: float = 0.222
    storage_per_gb_month: float = 0.35
    instant_restore_per_gb_month: float = 0.20
    snapshot_per_gb_month: float = 0.09
    public_transfer_per_gb: float = 0.10
    public_transfer_included_gb: float = 100.0
    private_transfer_per_gb: float = 0.01
    extra_branch_per_month: float = 1.50
    included_branches_per_project: int = 25
    billed: bool = True
    kind: str = "usage"
    compute_hours_included: float = 0.0
    storage_gb_month_included: float = 0.0
    base_fee_per_month: float = 0.0
    taken_on: str = "2026-05-28"


SCALE = Card()
LAUNCH = Card(compute_per_cu_hour=0.106, included_branches_per_project=10)
FREE = Card(billed=False)
LEGACY_LAUNCH = Card(
    compute_per_cu_hour=0.16,
    storage_per_gb_month=1.75,
    kind="legacy",
    compute_hours_included=300.0,
    storage_gb_month_included=10.0,
    base_fee_per_month=19.0,
)


def rates_for(plan: str | None) -> Card:
    known = {"launch": LAUNCH, "free": FREE, "legacy_launch": LEGACY_LAUNCH}
    return known.get(plan or "", SCALE)
