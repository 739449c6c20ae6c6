"""The bill from Neon's meters: per organization, project and line item, so far this billing
period and projected to its end, the way Neon's invoice computes it (notes/neon-costs.md §3.6).

Why these rules: compute is CU-seconds / 3600 at the compute rate; storage lines are
GB-months (decimal GB, 744-hour month) in the calibrated unit, refused (never guessed) when
the calibration refused; extra branches are netted per project per bucket
(``max(0, branch_hours - (included - 1) * bucket_hours)``, / 744); public transfer beyond
the org-wide allowance, allocated to projects pro rata; private transfer per GB. Each row
is priced at its own period's plan (``period_plan``): a plan change mid-month prices each
side at its card. Daily rows cover the period up to ``hourly_from``, hourly rows after it
(exact branch netting for the last week). The projection adds the last week's hourly rate
for the hours left in the period. Free never costs dollars: quota units instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from governor.costs.calibrate import Calibration, gb_months
from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    COMPUTE_UNIT_SECONDS,
    EXTRA_BRANCHES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    PRIVATE_NETWORK_TRANSFER_BYTES,
    PUBLIC_NETWORK_TRANSFER_BYTES,
    ROOT_BRANCH_BYTES_MONTH,
    SNAPSHOT_STORAGE_BYTES_MONTH,
    Bucket,
)

Line = Literal[
    "compute",
    "root_storage",
    "child_storage",
    "instant_restore",
    "snapshots",
    "extra_branches",
    "public_transfer",
    "private_transfer",
]
LINES: tuple[Line, ...] = (
    "compute",
    "root_storage",
    "child_storage",
    "instant_restore",
    "snapshots",
    "extra_branches",
    "public_transfer",
    "private_transfer",
)
UNITS: dict[Line, str] = {
    "compute": "CU-h",
    "root_storage": "GB-month",
    "child_storage": "GB-month",
    "instant_restore": "GB-month",
    "snapshots": "GB-month",
    "extra_branches": "branch-month",
    "public_transfer": "GB",
    "private_transfer": "GB",
}
LINE_OF_METRIC: dict[str, Line] = {
    COMPUTE_UNIT_SECONDS: "compute",
    ROOT_BRANCH_BYTES_MONTH: "root_storage",
    CHILD_BRANCH_BYTES_MONTH: "child_storage",
    INSTANT_RESTORE_BYTES_MONTH: "instant_restore",
    SNAPSHOT_STORAGE_BYTES_MONTH: "snapshots",
    EXTRA_BRANCHES_MONTH: "extra_branches",
    PUBLIC_NETWORK_TRANSFER_BYTES: "public_transfer",
    PRIVATE_NETWORK_TRANSFER_BYTES: "private_transfer",
}
STORAGE_LINES: frozenset[Line] = frozenset(
    {"root_storage", "child_storage", "instant_restore", "snapshots"}
)
EXCLUSIONS: tuple[str, ...] = (
    "credits",
    "taxes",
    "HIPAA and support add-ons",
    "negotiated Enterprise terms",
    "invoices under $0.50 are not collected",
)
HOURS_PER_GB_MONTH = 744.0
BYTES_PER_GB = 1e9
RECENT_HOURS = 168
FREE_COMPUTE_CU_HOURS = 100.0  # per project per month
FREE_STORAGE_GB = 0.5  # per project
ALLOWANCE_RULE = "public transfer allowance org-wide, allocated to projects pro rata"

CostKind = Literal["measured", "estimated", "quota"]


class RateCard(Protocol):
    """What the bill reads of a plan's prices (``governor.savings.prices.PlanPrices``)."""

    @property
    def compute_per_cu_hour(self) -> float: ...
    @property
    def storage_per_gb_month(self) -> float: ...
    @property
    def instant_restore_per_gb_month(self) -> float: ...
    @property
    def snapshot_per_gb_month(self) -> float: ...
    @property
    def public_transfer_per_gb(self) -> float: ...
    @property
    def public_transfer_included_gb(self) -> float: ...
    @property
    def private_transfer_per_gb(self) -> float: ...
    @property
    def extra_branch_per_month(self) -> float: ...
    @property
    def included_branches_per_project(self) -> int: ...
    @property
    def billed(self) -> bool: ...
    @property
    def kind(self) -> str: ...
    @property
    def compute_hours_included(self) -> float: ...
    @property
    def storage_gb_month_included(self) -> float: ...
    @property
    def base_fee_per_month(self) -> float: ...
    @property
    def taken_on(self) -> str: ...


RatesFor = Callable[[str | None], RateCard]


@dataclass(frozen=True)
class LineCost:
    """One line of one project: its quantity (``unit``) and dollars; None: not priced."""

    line: Line
    quantity: float | None
    unit: str
    so_far_usd: float | None
    projected_usd: float | None
    note: str = ""


@dataclass(frozen=True)
class ProjectBill:
    project_id: str
    lines: tuple[LineCost, ...]

    @property
    def so_far_usd(self) -> float:
        return sum(line.so_far_usd or 0.0 for line in self.lines)

    @property
    def projected_usd(self) -> float:
        return sum(line.projected_usd or 0.0 for line in self.lines)

    def line(self, name: Line) -> LineCost:
        return next(line for line in self.lines if line.line == name)


@dataclass(frozen=True)
class OrgBill:
    """One organization's bill: ``kind`` measured (the meters), estimated (object fields,
    the API refused) or quota (Free: units of its quotas, $0)."""

    org_id: str
    plan: str | None
    kind: CostKind
    period_start: datetime
    period_end: datetime
    data_end: datetime
    projects: tuple[ProjectBill, ...]
    rate_card_dates: tuple[str, ...]
    coverage: Literal["complete", "partial"]
    notes: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = EXCLUSIONS

    @property
    def so_far_usd(self) -> float:
        return sum(project.so_far_usd for project in self.projects)

    @property
    def projected_usd(self) -> float:
        return sum(project.projected_usd for project in self.projects)


@dataclass(frozen=True)
class MeteredOrg:
    """What the bill needs of one organization read from the consumption API.

    ``buckets``: its project-level rows of the period (both granularities); daily rows are
    used before ``hourly_from`` and hourly rows from it (None: daily only); ``data_end``:
    where the rows read end; ``gaps``: reads that failed or are missing (coverage partial).
    """

    org_id: str
    plan: str | None
    buckets: Sequence[Bucket]
    calibration: Calibration
    hourly_from: datetime | None
    data_end: datetime
    gaps: tuple[str, ...] = ()
    project_ids: tuple[str, ...] = ()  # live projects with no rows still get a line


def billing_period(now: datetime) -> tuple[datetime, datetime]:
    """The usage-based plans' billing period around ``now``: the UTC calendar month."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _hours(bucket: Bucket) -> float:
    return (bucket.end - bucket.start).total_seconds() / 3600.0


def selected(
    buckets: Iterable[Bucket], *, start: datetime, end: datetime, hourly_from: datetime | None
) -> list[Bucket]:
    """The rows that cover [start, end) once: daily before ``hourly_from``, hourly after."""
    cut = hourly_from if hourly_from is not None else end
    chosen: list[Bucket] = []
    for bucket in buckets:
        if bucket.branch_id is not None or bucket.start < start or bucket.end > end:
            continue
        daily = bucket.granularity == "daily" and bucket.end <= cut
        if daily or (bucket.granularity == "hourly" and bucket.start >= cut):
            chosen.append(bucket)
    return chosen


# (project id, line, plan) -> quantity in the line's unit (None unit: storage refused)
Quantities = dict[tuple[str, Line, str | None], float]


def quantities(
    buckets: Iterable[Bucket],
    calibration: Calibration,
    rates_for: RatesFor,
    default_plan: str | None,
) -> Quantities:
    """Each row in its line's unit; extra branches netted per project per timeframe (the
    parts of a timeframe split across two periods are summed first, then netted once)."""
    found: Quantities = defaultdict(float)
    branch_rows: dict[tuple[str, datetime, datetime], list[Bucket]] = defaultdict(list)
    for bucket in buckets:
        line = LINE_OF_METRIC.get(bucket.metric)
        if line is None:
            continue  # an unknown metric is kept in the store, never priced
        plan = bucket.period_plan or default_plan
        if line == "compute":
            found[(bucket.project_id, line, plan)] += bucket.value / 3600.0
        elif line in STORAGE_LINES:
            unit = calibration.unit
            found[(bucket.project_id, line, plan)] += (
                gb_months(bucket.value, unit) if unit is not None else 0.0
            )
        elif line == "extra_branches":
            branch_rows[(bucket.project_id, bucket.start, bucket.end)].append(bucket)
        else:
            found[(bucket.project_id, line, plan)] += bucket.value / BYTES_PER_GB
    for (project_id, _, _), parts in branch_rows.items():
        total = sum(part.value for part in parts)
        if total <= 0:
            continue
        for part in parts:
            plan = part.period_plan or default_plan
            included = rates_for(plan).included_branches_per_project
            allowance = max(0, included - 1) * _hours(part)
            net = max(0.0, total - allowance)
            found[(project_id, "extra_branches", plan)] += (
                net * (part.value / total) / HOURS_PER_GB_MONTH
            )
    return found


def _rate(card: RateCard, line: Line) -> float:
    if not card.billed:
        return 0.0
    if line == "compute":
        return card.compute_per_cu_hour
    if line in ("root_storage", "child_storage"):
        return card.storage_per_gb_month
    if line == "instant_restore":
        return card.instant_restore_per_gb_month
    if line == "snapshots":
        return card.snapshot_per_gb_month
    if line == "extra_branches":
        return card.extra_branch_per_month
    if line == "public_transfer":
        return card.public_transfer_per_gb
    return card.private_transfer_per_gb


def priced(
    found: Quantities, rates_for: RatesFor, allowance_gb: float
) -> dict[tuple[str, Line], float]:
    """Dollars per (project, line); public transfer only beyond the org-wide allowance,
    each project paying its share of the excess."""
    public_total = sum(q for (_, line, _), q in found.items() if line == "public_transfer")
    billable_share = (
        max(0.0, public_total - allowance_gb) / public_total if public_total > 0 else 0.0
    )
    dollars: dict[tuple[str, Line], float] = defaultdict(float)
    for (project_id, line, plan), quantity in found.items():
        amount = quantity * _rate(rates_for(plan), line)
        if line == "public_transfer":
            amount *= billable_share
        dollars[(project_id, line)] += amount
    return dollars


def bill_metered(org: MeteredOrg, rates_for: RatesFor, *, now: datetime) -> OrgBill:
    """The organization's bill from its meters, so far and projected to the period's end."""
    period_start, period_end = billing_period(now)
    data_end = min(org.data_end, period_end)
    rows = selected(org.buckets, start=period_start, end=data_end, hourly_from=org.hourly_from)
    so_far = quantities(rows, org.calibration, rates_for, org.plan)
    # The projection: the last week's hourly rate, at the latest plan, for the hours left.
    recent_start = max(data_end - timedelta(hours=RECENT_HOURS), org.hourly_from or data_end)
    recent_rows = [row for row in rows if row.start >= recent_start]
    recent_hours = (data_end - recent_start).total_seconds() / 3600.0
    left_hours = max(0.0, (period_end - data_end).total_seconds() / 3600.0)
    latest_plan = max(rows, key=lambda row: row.start).period_plan if rows else None
    projected: Quantities = defaultdict(float, so_far)
    if recent_hours > 0:
        recent = quantities(recent_rows, org.calibration, rates_for, org.plan)
        for (project_id, line, _plan), quantity in recent.items():
            key = (project_id, line, latest_plan or org.plan)
            projected[key] += quantity / recent_hours * left_hours
    card = rates_for(latest_plan or org.plan)
    allowance = card.public_transfer_included_gb
    so_far_usd = priced(so_far, rates_for, allowance)
    projected_usd = priced(projected, rates_for, allowance)
    project_ids = sorted({key[0] for key in so_far} | set(org.project_ids))
    storage_refused = org.calibration.unit is None
    projects = []
    for project_id in project_ids:
        lines = []
        for line in LINES:
            quantity = sum(
                q for (p, name, _), q in so_far.items() if p == project_id and name == line
            )
            if line in STORAGE_LINES and storage_refused:
                lines.append(
                    LineCost(line, None, UNITS[line], None, None, "refused: unit not calibrated")
                )
                continue
            lines.append(
                LineCost(
                    line,
                    quantity,
                    UNITS[line],
                    so_far_usd.get((project_id, line), 0.0),
                    projected_usd.get((project_id, line), 0.0),
                )
            )
        projects.append(ProjectBill(project_id, tuple(lines)))
    plans = {row.period_plan or org.plan for row in rows} or {org.plan}
    dates = tuple(sorted({rates_for(plan).taken_on for plan in plans}))
    notes = [f"storage: {org.calibration.why}", ALLOWANCE_RULE, *org.gaps]
    partial = bool(org.gaps) or storage_refused
    return OrgBill(
        org_id=org.org_id,
        plan=org.plan,
        kind="measured",
        period_start=period_start,
        period_end=period_end,
        data_end=data_end,
        projects=tuple(projects),
        rate_card_dates=dates,
        coverage="partial" if partial else "complete",
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class ProjectCounters:
    """A project's object fields, the only usage an organization the API refuses offers:
    counters since ``period_start`` (``compute_time_seconds``) and current storage sizes."""

    project_id: str
    compute_time_seconds: float | None = None
    storage_bytes: float | None = None  # synthetic_storage_size, else the branches' sizes
    period_start: datetime | None = None
    notes: tuple[str, ...] = field(default=())


def bill_from_objects(
    org_id: str,
    plan: str | None,
    projects: Sequence[ProjectCounters],
    rates_for: RatesFor,
    *,
    now: datetime,
    refused_why: str,
) -> OrgBill:
    """Estimates from object fields for an organization whose meters Neon refuses.

    Free: quota units (CU-h of 100 per project, GB of 0.5) and $0. Other plans: the
    counters priced at the plan's card, projected linearly to the period's end; labelled
    estimates. A legacy plan bills only beyond its organization-wide allowances: the
    excess is shared out pro rata (its base fee is not a line: it is the plan's, not usage).
    """
    period_start, period_end = billing_period(now)
    card = rates_for(plan)
    free = not card.billed
    bills = []
    for project in projects:
        start = project.period_start or period_start
        elapsed = max(1.0, (now - start).total_seconds() / 3600.0)
        scale = max(elapsed, (period_end - start).total_seconds() / 3600.0) / elapsed
        cu_hours = (project.compute_time_seconds or 0.0) / 3600.0
        storage_gb = (project.storage_bytes or 0.0) / BYTES_PER_GB
        if free:
            lines = (
                LineCost(
                    "compute",
                    cu_hours,
                    f"CU-h of {FREE_COMPUTE_CU_HOURS:g}",
                    0.0,
                    0.0,
                    f"{cu_hours / FREE_COMPUTE_CU_HOURS:.0%} of the monthly quota",
                ),
                LineCost(
                    "root_storage",
                    storage_gb,
                    f"GB of {FREE_STORAGE_GB:g}",
                    0.0,
                    0.0,
                    f"{storage_gb / FREE_STORAGE_GB:.0%} of the storage quota",
                ),
            )
        else:
            # storage held now, taken as held since the period began (an estimate)
            storage_months = storage_gb * elapsed / HOURS_PER_GB_MONTH
            lines = (
                LineCost(
                    "compute",
                    cu_hours,
                    "CU-h",
                    cu_hours * card.compute_per_cu_hour,
                    cu_hours * scale * card.compute_per_cu_hour,
                    "estimate: compute_time_seconds since the period began",
                ),
                LineCost(
                    "root_storage",
                    storage_months,
                    "GB-month",
                    storage_months * card.storage_per_gb_month,
                    storage_months * scale * card.storage_per_gb_month,
                    "estimate: the current storage size held all period",
                ),
            )
        bills.append(ProjectBill(project.project_id, lines))
    notes = [refused_why, "estimates from object fields, not Neon's meters"]
    if card.kind == "legacy" and not free:
        bills = [_beyond_allowance(item) for item in _allowance_shares(bills, card)]
        notes.append(
            f"legacy plan: {card.compute_hours_included:g} CU-h and "
            f"{card.storage_gb_month_included:g} GB-month a month included org-wide, only the "
            f"excess is priced; the ${card.base_fee_per_month:g} base fee is not included"
        )
    return OrgBill(
        org_id=org_id,
        plan=plan,
        kind="quota" if free else "estimated",
        period_start=period_start,
        period_end=period_end,
        data_end=now,
        projects=tuple(bills),
        rate_card_dates=(card.taken_on,),
        coverage="partial",
        notes=tuple(notes),
    )


def _allowance_shares(
    bills: list[ProjectBill], card: RateCard
) -> list[tuple[ProjectBill, dict[Line, tuple[float, float]]]]:
    """Each project with the billable share, so far and projected, of its compute and
    storage: the organization's excess over the allowance divided by its total."""
    allowances: tuple[tuple[Line, float], ...] = (
        ("compute", card.compute_hours_included),
        ("root_storage", card.storage_gb_month_included),
    )
    shares: dict[Line, tuple[float, float]] = {}
    for name, included in allowances:
        so_far = projected = 0.0
        for bill in bills:
            line = bill.line(name)
            quantity = line.quantity or 0.0
            so_far += quantity
            ratio = (line.projected_usd or 0.0) / line.so_far_usd if line.so_far_usd else 1.0
            projected += quantity * ratio
        shares[name] = (
            max(0.0, so_far - included) / so_far if so_far > 0 else 0.0,
            max(0.0, projected - included) / projected if projected > 0 else 0.0,
        )
    return [(bill, shares) for bill in bills]


def _beyond_allowance(item: tuple[ProjectBill, dict[Line, tuple[float, float]]]) -> ProjectBill:
    bill, shares = item
    lines = []
    for line in bill.lines:
        so_far_share, projected_share = shares.get(line.line, (1.0, 1.0))
        lines.append(
            replace(
                line,
                so_far_usd=None if line.so_far_usd is None else line.so_far_usd * so_far_share,
                projected_usd=(
                    None if line.projected_usd is None else line.projected_usd * projected_share
                ),
                note=f"{line.note}; beyond the legacy allowance: {so_far_share:.0%} billed",
            )
        )
    return ProjectBill(bill.project_id, tuple(lines))


def totals_by_line(bills: Iterable[OrgBill]) -> Mapping[Line, tuple[float, float]]:
    """(so far, projected) dollars per line over ``bills``."""
    found: dict[Line, list[float]] = {line: [0.0, 0.0] for line in LINES}
    for org in bills:
        for project in org.projects:
            for line in project.lines:
                found[line.line][0] += line.so_far_usd or 0.0
                found[line.line][1] += line.projected_usd or 0.0
    return {line: (values[0], values[1]) for line, values in found.items()}
