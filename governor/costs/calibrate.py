"""Which unit an organization's storage metrics are in: byte-hours or byte-months.

Why calibrate: Neon's docs say the four ``*_bytes_month`` metrics are byte-hours (divide
by 744 and 1e9), live invoices say byte-months (divide by 1e9 only); a wrong guess moves
storage by a factor of 744 (notes/neon-costs.md §3.4). So, per organization: for projects
with exactly one root branch, the last complete daily ``root_branch_bytes_month`` ``V``
against that branch's ``logical_size`` ``L``: ``V/L ≈ 24`` means byte-hours, ``≈ 24/744``
byte-months; anything else, or projects that disagree, refuses storage prices with why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from governor.model.consumption import ROOT_BRANCH_BYTES_MONTH, Bucket, StorageUnit

HOURS_PER_DAY = 24.0
HOURS_PER_GB_MONTH = 744.0
# The two candidate ratios differ 744-fold: a factor of 1.6 either way tells them apart
# while letting the logical size move during the day.
TOLERANCE = 1.6
EXPECTED_RATIO: dict[StorageUnit, float] = {
    "byte_hours": HOURS_PER_DAY,
    "byte_months": HOURS_PER_DAY / HOURS_PER_GB_MONTH,
}


@dataclass(frozen=True)
class Calibration:
    """An organization's storage unit (None: refused) and why, with the evidence."""

    org_id: str
    unit: StorageUnit | None
    why: str


def unit_of_ratio(ratio: float) -> StorageUnit | None:
    """The unit ``V/L`` points at, or None when it fits neither."""
    for unit, expected in EXPECTED_RATIO.items():
        if expected / TOLERANCE <= ratio <= expected * TOLERANCE:
            return unit
    return None


def calibrate(
    org_id: str,
    buckets: Iterable[Bucket],
    root_logical_sizes: Mapping[str, int | None],
    *,
    now: datetime,
) -> Calibration:
    """Calibrate ``org_id``'s storage unit.

    ``buckets``: the organization's project-level rows (other rows are ignored);
    ``root_logical_sizes``: project id → its one root branch's ``logical_size``, only for
    projects with exactly one root branch (None: Neon gave no size). A daily bucket is
    complete when it ended by ``now``.
    """
    last: dict[str, Bucket] = {}
    for bucket in buckets:
        if (
            bucket.org_id != org_id
            or bucket.branch_id is not None
            or bucket.granularity != "daily"
            or bucket.metric != ROOT_BRANCH_BYTES_MONTH
            or bucket.end > now
            or bucket.project_id not in root_logical_sizes
        ):
            continue
        seen = last.get(bucket.project_id)
        if seen is None or bucket.start > seen.start:
            last[bucket.project_id] = bucket
    votes: dict[StorageUnit | None, list[str]] = {}
    for project_id, bucket in sorted(last.items()):
        size = root_logical_sizes.get(project_id)
        if not size or size <= 0:
            continue
        ratio = bucket.value / size
        votes.setdefault(unit_of_ratio(ratio), []).append(f"{project_id} V/L={ratio:.4g}")
    if not votes:
        return Calibration(
            org_id,
            None,
            "no project with one root branch has both a logical_size and a complete daily "
            f"{ROOT_BRANCH_BYTES_MONTH}: the storage unit cannot be told",
        )
    fitting = {unit: evidence for unit, evidence in votes.items() if unit is not None}
    total = sum(len(evidence) for evidence in votes.values())
    if len(fitting) == 1:
        ((unit, evidence),) = fitting.items()
        if len(evidence) * 2 > total:
            expected = EXPECTED_RATIO[unit]
            return Calibration(
                org_id,
                unit,
                f"V/L ≈ {expected:.4g} on {len(evidence)} of {total} projects "
                f"({', '.join(evidence[:3])}): {unit.replace('_', '-')}",
            )
    shown = "; ".join(
        f"{unit or 'neither'}: {', '.join(evidence[:3])}" for unit, evidence in votes.items()
    )
    return Calibration(
        org_id,
        None,
        "the storage unit is ambiguous (V/L should be ≈ 24 for byte-hours or ≈ 0.032 for "
        f"byte-months): {shown}; storage is not priced",
    )


def gb_months(value: float, unit: StorageUnit) -> float:
    """A storage metric's value in GB-months (GB = 1e9 bytes, 744-hour month)."""
    if unit == "byte_hours":
        return value / HOURS_PER_GB_MONTH / 1e9
    return value / 1e9


def root_logical_sizes(
    project_orgs: Mapping[str, str | None],
    branches: Iterable[tuple[str, str | None, int | None]],
) -> dict[str, dict[str, int | None]]:
    """Org id -> {project id -> its one root branch's ``logical_size``}, for projects with
    exactly one root branch (``branches``: project id, parent id, logical size)."""
    roots: dict[str, list[int | None]] = {}
    for project_id, parent_id, size in branches:
        if parent_id is None:
            roots.setdefault(project_id, []).append(size)
    found: dict[str, dict[str, int | None]] = {}
    for project_id, sizes in roots.items():
        org_id = project_orgs.get(project_id)
        if org_id is not None and len(sizes) == 1:
            found.setdefault(org_id, {})[project_id] = sizes[0]
    return found
