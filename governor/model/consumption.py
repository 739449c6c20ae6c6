"""Neon's consumption meters as the governor keeps them: one metric in one timeframe.

Why its own type: the reader (``pipeline/consumption.py``), the store, the bill
(``governor/costs``), the savings estimates and the realized-savings measurement all pass
the same rows; none re-parses Neon's nested ``projects[].periods[].consumption[]`` shape.
Values keep Neon's units: CU-seconds, bytes, branch-hours and, for the four storage
metrics, whatever unit the account serves (byte-hours or byte-months: the note's §3.4);
the calibration decides, never this type.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Granularity = Literal["hourly", "daily", "monthly"]
StorageUnit = Literal["byte_hours", "byte_months"]

# Metric names of GET /consumption_history/v2/projects (all eight) and /v2/branches (six).
COMPUTE_UNIT_SECONDS = "compute_unit_seconds"
ROOT_BRANCH_BYTES_MONTH = "root_branch_bytes_month"
CHILD_BRANCH_BYTES_MONTH = "child_branch_bytes_month"
INSTANT_RESTORE_BYTES_MONTH = "instant_restore_bytes_month"
SNAPSHOT_STORAGE_BYTES_MONTH = "snapshot_storage_bytes_month"
PUBLIC_NETWORK_TRANSFER_BYTES = "public_network_transfer_bytes"
PRIVATE_NETWORK_TRANSFER_BYTES = "private_network_transfer_bytes"
EXTRA_BRANCHES_MONTH = "extra_branches_month"

PROJECT_METRICS: tuple[str, ...] = (
    COMPUTE_UNIT_SECONDS,
    ROOT_BRANCH_BYTES_MONTH,
    CHILD_BRANCH_BYTES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    SNAPSHOT_STORAGE_BYTES_MONTH,
    PUBLIC_NETWORK_TRANSFER_BYTES,
    PRIVATE_NETWORK_TRANSFER_BYTES,
    EXTRA_BRANCHES_MONTH,
)
BRANCH_METRICS: tuple[str, ...] = tuple(
    metric
    for metric in PROJECT_METRICS
    if metric not in (EXTRA_BRANCHES_MONTH, SNAPSHOT_STORAGE_BYTES_MONTH)
)
STORAGE_METRICS: frozenset[str] = frozenset(
    {
        ROOT_BRANCH_BYTES_MONTH,
        CHILD_BRANCH_BYTES_MONTH,
        INSTANT_RESTORE_BYTES_MONTH,
        SNAPSHOT_STORAGE_BYTES_MONTH,
    }
)


# What the estimates, the bill and realized savings read of v2/branches: compute and the
# three storage meters. The two transfer meters are billed per project (v2/projects has
# them) and nothing reads them per branch, so the reader does not ask for them.
BRANCH_READ_METRICS: tuple[str, ...] = (
    COMPUTE_UNIT_SECONDS,
    ROOT_BRANCH_BYTES_MONTH,
    CHILD_BRANCH_BYTES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
)


@dataclass(frozen=True, slots=True)
class Bucket:
    """One metric's value in one timeframe of one project (``branch_id`` None) or branch.

    Neon omits metrics with zero usage from a bucket; a missing row is 0 only where the
    timeframe was read (the store records what was read: ``consumption_reads``).
    """

    org_id: str
    project_id: str
    branch_id: str | None
    granularity: Granularity
    start: datetime  # timeframe_start, aware UTC
    end: datetime  # timeframe_end, aware UTC
    period_id: str | None
    period_plan: str | None
    metric: str  # an open set: unknown metric names are kept, never priced
    value: float
