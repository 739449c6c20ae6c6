"""The consumption read: each organization's meters into the store, hourly and daily.

Why these windows: the bill wants the whole billing period (daily rows, 60 days of
lookback) and exact branch netting for the last week (hourly rows, 168 h of lookback);
the savings estimates want each branch's last week (v2/branches, hourly, for projects with
usage). Hourly reads start 168 whole hours back, the estimates' window (when Neon's clock
is ahead of ours across an hour and it answers 406, an hour later); daily reads start at
the billing period, or two days back early in a month, so the storage calibration has a
complete day. Each read is recorded, ok, refused (403: Free or legacy plan; the rest of
the organization is skipped) or failed, so the bill can tell "not read" from "zero". Rows
go to the store a chunk at a time as each page is parsed, and a re-read leaves unchanged
rows alone, so a read's work is the window's rows, never the history kept.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from governor.config.consumption import ConsumptionSettings
from governor.costs.bill import (
    MeteredOrg,
    OrgBill,
    ProjectCounters,
    bill_from_objects,
    bill_metered,
    billing_period,
)
from governor.costs.calibrate import Calibration, root_logical_sizes
from governor.model.consumption import BRANCH_READ_METRICS, Granularity
from governor.model.snapshot import Snapshot
from governor.neon.client import NeonClient
from governor.neon.consumption import ConsumptionPlanRefused, ConsumptionRangeRefused, MeterRow
from governor.neon.errors import NeonError
from governor.savings.billing_plan import billing_plan
from governor.savings.prices import PlanPrices, Prices
from governor.savings.usage import Usage
from governor.store import Store, StoreError
from governor.store import consumption as meters
from governor.store import resources as resource_rows
from governor.sweep import Account

logger = logging.getLogger("governor.consumption")

HOURLY_LOOKBACK_HOURS = 168
# Branches a v2/branches page (Neon allows 1,000). A page is decoded whole before it is
# parsed, about 15x its body: 1,000 branches x 168 hours is a ~24 MB body and ~260 MB
# at its peak, more than a whole 10,000-project audit may use; 250 is ~95 MB, about what
# a 100-project v2/projects page takes, for 2.5x the branch requests (5 instead of 2 per
# 100 projects of 10 branches).
BRANCH_PAGE_BRANCHES = 250
CALIBRATION_LOOKBACK = timedelta(days=2)

Outcome = Literal["ok", "refused", "failed"]


@dataclass(frozen=True)
class OrgRead:
    """How one organization's read went: ``rows`` kept, ``message`` when not ok."""

    org_id: str
    outcome: Outcome
    rows: int = 0
    message: str | None = None
    written: int = 0  # rows added or changed in the store (unchanged ones are not rewritten)


@dataclass
class ConsumptionRun:
    """The read job's result: per organization, and the requests it cost."""

    orgs: list[OrgRead] = field(default_factory=list)
    requests: int = 0

    def outcome_of(self, org_id: str) -> OrgRead | None:
        return next((org for org in self.orgs if org.org_id == org_id), None)


def hourly_window(now: datetime, hours: int = HOURLY_LOOKBACK_HOURS) -> tuple[datetime, datetime]:
    """``hours`` whole hours back, up to the end of the hour still filling: Neon rounds
    ``to`` down to the granularity, so asking up to ``now`` would drop the current hour."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    return hour - timedelta(hours=hours), hour + timedelta(hours=1)


def daily_window(now: datetime) -> tuple[datetime, datetime]:
    """The billing period (and the calibration's days) up to the end of today (see above)."""
    period_start, _ = billing_period(now)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    recent = today - CALIBRATION_LOOKBACK
    return min(period_start, recent.replace(hour=0)), today + timedelta(days=1)


def targets_of(accounts: Sequence[Account], snapshot: Snapshot) -> list[tuple[Account, str]]:
    """Each organization the sweep saw, with the account that read it."""
    org_ids = snapshot.org_ids or [org.id for org in snapshot.organizations]
    read_by = {
        project.org_id: snapshot.read_by.get(f"project:{project.id}")
        for project in snapshot.projects
        if project.org_id
    }
    return targets_for(accounts, org_ids, read_by)


def targets_for(
    accounts: Sequence[Account], org_ids: Iterable[str], read_by: Mapping[str, str | None]
) -> list[tuple[Account, str]]:
    """``org_ids`` with an account each: the one that read the org's projects, else the one
    configured for it, else the first."""
    if not accounts:
        return []
    by_name = {account.name: account for account in accounts}
    found: list[tuple[Account, str]] = []
    for org_id in dict.fromkeys(org_ids):
        account = by_name.get(read_by.get(org_id) or "")
        if account is None:
            account = next((a for a in accounts if org_id in a.org_ids), accounts[0])
        found.append((account, org_id))
    return found


@dataclass
class _OrgReader:
    """One organization's reads: its client, the store and the read's moment.

    Rows go to the store a chunk at a time as each page is parsed (lean tuples, no object
    per reading); ``read`` counts the rows Neon sent, ``written`` the rows added or changed
    (a re-read of unchanged hours writes nothing)."""

    client: NeonClient
    store: Store
    org_id: str
    now: datetime
    seen: set[str] = field(default_factory=set)  # projects with rows: their branches next
    written: int = 0

    async def _write(self, granularity: Granularity, rows: list[MeterRow]) -> int:
        self.written += await self.store.run(
            meters.write_rows, self.org_id, granularity, rows, self.now
        )
        return len(rows)

    async def projects(self, granularity: Granularity, window: tuple[datetime, datetime]) -> int:
        """Every metric: the bill prices every line from these rows (daily for the period,
        hourly for the last week); the estimates read compute, storage and extra branches."""
        read = 0
        async for rows in self.client.iter_project_rows(
            self.org_id, start=window[0], end=window[1], granularity=granularity
        ):
            self.seen.update(row[0] for row in rows)
            read += await self._write(granularity, rows)
        return read

    async def branches(self, window: tuple[datetime, datetime]) -> int:
        """Compute and the three storage meters (``BRANCH_READ_METRICS``): the estimates'
        floor hours and child storage, realized savings' scope and control; transfer is
        billed per project, so it is not asked for per branch. ``BRANCH_PAGE_BRANCHES`` a
        page (see there)."""
        read = 0
        async for rows in self.client.iter_branch_rows(
            self.org_id,
            sorted(self.seen),
            start=window[0],
            end=window[1],
            granularity="hourly",
            metrics=BRANCH_READ_METRICS,
            limit=BRANCH_PAGE_BRANCHES,
        ):
            read += await self._write("hourly", rows)
        return read

    async def record(
        self,
        scope: meters.Scope,
        granularity: Granularity,
        window: tuple[datetime, datetime],
        outcome: Outcome,
        *,
        rows: int = 0,
        message: str | None = None,
    ) -> None:
        await self.store.run(
            meters.record_read,
            org_id=self.org_id,
            scope=scope,
            granularity=granularity,
            start=window[0],
            end=window[1],
            read_at=self.now,
            outcome=outcome,
            message=message,
            rows_read=rows,
        )


async def read_org(
    client: NeonClient, store: Store, org_id: str, *, now: datetime, branches: bool = True
) -> OrgRead:
    """One organization's hourly and daily project rows, then its branches' hourly rows."""
    reader = _OrgReader(client, store, org_id, now)
    total = 0
    reads: list[tuple[Granularity, tuple[datetime, datetime]]] = [
        ("hourly", hourly_window(now)),
        ("daily", daily_window(now)),
    ]
    failures: list[str] = []
    for index, (granularity, asked) in enumerate(reads):
        window = asked
        try:
            try:
                rows = await reader.projects(granularity, window)
            except ConsumptionRangeRefused:
                if granularity != "hourly":
                    raise
                window = hourly_window(now, HOURLY_LOOKBACK_HOURS - 1)  # Neon's clock is ahead
                reads[index] = (granularity, window)
                rows = await reader.projects(granularity, window)
        except ConsumptionPlanRefused as error:
            await reader.record("projects", granularity, window, "refused", message=str(error))
            return OrgRead(org_id, "refused", total, str(error), reader.written)
        except NeonError as error:
            logger.warning("consumption of %s (%s) not read: %s", org_id, granularity, error)
            await reader.record("projects", granularity, window, "failed", message=str(error))
            failures.append(str(error))
            continue
        await reader.record("projects", granularity, window, "ok", rows=rows)
        total += rows
    if branches and reader.seen:
        window = reads[0][1]
        try:
            try:
                rows = await reader.branches(window)
            except ConsumptionRangeRefused:
                # Neon's clock passed an hour since the project reads (a large account's
                # read takes minutes at 30 a minute): one hour less, as for the projects
                window = hourly_window(now, HOURLY_LOOKBACK_HOURS - 1)
                rows = await reader.branches(window)
        except NeonError as error:
            logger.warning("branch consumption of %s not read: %s", org_id, error)
            await reader.record("branches", "hourly", window, "failed", message=str(error))
            failures.append(str(error))
        else:
            await reader.record("branches", "hourly", window, "ok", rows=rows)
            total += rows
    if failures:
        return OrgRead(org_id, "failed", total, "; ".join(failures), reader.written)
    return OrgRead(org_id, "ok", total, written=reader.written)


async def read_consumption(
    targets: Sequence[tuple[Account, str]],
    store: Store,
    *,
    now: datetime,
    keep: timedelta | None = None,
    branches: bool = True,
) -> ConsumptionRun:
    """Read every target organization's meters into the store (one after another: they
    share each key's consumption budget), then age out rows older than ``keep``."""
    run = ConsumptionRun()
    before = {id(account.client): account.client.requests for account, _ in targets}
    for account, org_id in targets:
        run.orgs.append(await read_org(account.client, store, org_id, now=now, branches=branches))
    clients = {id(account.client): account.client for account, _ in targets}
    run.requests = sum(client.requests - before[key] for key, client in clients.items())
    if keep is not None:
        await store.run(meters.forget_before, now - keep)
    return run


def metered_org(
    connection: sqlite3.Connection,
    org_id: str,
    plan: str | None,
    calibration: Calibration,
    *,
    now: datetime,
    project_ids: Sequence[str] = (),
) -> MeteredOrg | meters.ConsumptionRead | None:
    """What the bill needs of ``org_id`` from the store: a ``MeteredOrg``, the refusal (the
    latest read of the period was refused), or None (never read this period)."""
    period_start, _ = billing_period(now)
    period_reads = meters.reads(connection, org_id=org_id, scope="projects", since=period_start)
    if not period_reads:
        return None
    latest = period_reads[-1]
    if latest.outcome == "refused":
        return latest
    hourly = [
        read for read in period_reads if read.granularity == "hourly" and read.outcome == "ok"
    ]
    daily = [read for read in period_reads if read.granularity == "daily" and read.outcome == "ok"]
    gaps = [
        f"the latest {read.granularity} read failed: {read.message}"
        for read in (
            next((r for r in reversed(period_reads) if r.granularity == kind), None)
            for kind in ("hourly", "daily")
        )
        if read is not None and read.outcome == "failed"
    ]
    if not daily:
        gaps.append("no daily read this billing period succeeded")
    hourly_from = None
    data_end = daily[-1].end if daily else now
    if hourly:
        start = hourly[-1].start
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        hourly_from = max(
            period_start, midnight if midnight == start else midnight + timedelta(days=1)
        )
        data_end = hourly[-1].end
    if daily and daily[0].start > period_start:
        gaps.append(f"daily rows start at {daily[0].start:%Y-%m-%d}, after the period began")
    rows = [
        *meters.buckets(
            connection, org_id=org_id, granularity="daily", start=period_start, end=data_end
        ),
        *meters.buckets(
            connection, org_id=org_id, granularity="hourly", start=period_start, end=data_end
        ),
    ]
    return MeteredOrg(
        org_id=org_id,
        plan=plan,
        buckets=rows,
        calibration=calibration,
        hourly_from=hourly_from,
        data_end=data_end,
        gaps=tuple(gaps),
        project_ids=tuple(project_ids),
    )


@dataclass(frozen=True)
class OrgFacts:
    """What the bill needs of an organization besides its meters: its plan (and why),
    its live projects, and their object-field counters (the fallback when Neon refuses)."""

    org_id: str
    name: str | None
    plan: str | None
    plan_why: str
    project_names: Mapping[str, str | None]
    counters: tuple[ProjectCounters, ...]


def _counters(raw: Mapping[str, object], branch_bytes: float | None) -> ProjectCounters:
    def number(key: str) -> float | None:
        value = raw.get(key)
        return float(value) if isinstance(value, int | float) and value >= 0 else None

    start = raw.get("consumption_period_start")
    begun = None
    if isinstance(start, str):
        try:
            begun = datetime.fromisoformat(start)
        except ValueError:
            begun = None
    storage = number("synthetic_storage_size")
    return ProjectCounters(
        project_id=str(raw.get("id")),
        compute_time_seconds=number("compute_time_seconds"),
        storage_bytes=storage if storage else branch_bytes,
        period_start=begun if begun is not None and begun.tzinfo is not None else None,
    )


def org_facts(
    organizations: Iterable[Mapping[str, object]],
    projects: Iterable[Mapping[str, object]],
    branches: Iterable[Mapping[str, object]],
) -> list[OrgFacts]:
    """Each organization's facts from the API objects' JSON (a sweep's, or the store's)."""
    branch_bytes: dict[str, float] = {}
    for branch in branches:
        size = branch.get("logical_size")
        if isinstance(size, int | float):
            key = str(branch.get("project_id"))
            branch_bytes[key] = branch_bytes.get(key, 0.0) + float(size)
    by_org: dict[str, list[Mapping[str, object]]] = {}
    for project in projects:
        by_org.setdefault(str(project.get("org_id") or ""), []).append(project)
    found = []
    for org in organizations:
        org_id = str(org.get("id"))
        own = by_org.get(org_id, [])
        plan, why = billing_plan(org, own[0] if own else None)
        name = org.get("name")
        found.append(
            OrgFacts(
                org_id=org_id,
                name=name if isinstance(name, str) else None,
                plan=plan,
                plan_why=why,
                project_names={
                    str(p.get("id")): (n if isinstance(n := p.get("name"), str) else None)
                    for p in own
                },
                counters=tuple(_counters(p, branch_bytes.get(str(p.get("id")))) for p in own),
            )
        )
    return found


def facts_of_snapshot(snapshot: Snapshot) -> list[OrgFacts]:
    return org_facts(
        [org.raw for org in snapshot.organizations],
        [project.raw for project in snapshot.projects],
        [branch.raw for branch in snapshot.branches],
    )


def facts_of_store(connection: sqlite3.Connection) -> list[OrgFacts]:
    """The facts of the latest sweep the store kept."""
    kept = resource_rows.listed(connection)
    of = {
        kind: [row.raw for row in kept if row.resource_type == kind]
        for kind in ("organization", "project", "branch")
    }
    return org_facts(of["organization"], of["project"], of["branch"])


def sizes_of_snapshot(snapshot: Snapshot) -> dict[str, dict[str, int | None]]:
    """The calibration's root sizes from a sweep (org -> project -> root logical_size);
    a spooled sweep's from the roots it kept (each branch once, the first seen)."""
    if snapshot.spooled:
        seen: set[str] = set()
        roots: list[tuple[str, str | None, int | None]] = []
        for record in snapshot.spooled:
            for branch_id, project_id, parent_id, size in record.roots:
                if branch_id not in seen:
                    seen.add(branch_id)
                    roots.append((project_id, parent_id, size))
        return root_logical_sizes({p.id: p.org_id for p in snapshot.projects}, roots)
    return root_logical_sizes(
        {project.id: project.org_id for project in snapshot.projects},
        [
            (branch.project_id, branch.parent_id, branch.logical_size)
            for branch in snapshot.branches
        ],
    )


def _rates(prices: Prices, org_plan: str | None) -> Callable[[str | None], PlanPrices]:
    """A period's rate card: its ``period_plan`` when the card knows it (``launch``,
    ``scale``), else the organization's plan (a name Neon adds later, ``launch_v3``...)."""

    def rates_for(plan: str | None) -> PlanPrices:
        return prices.for_plan(plan if plan in prices.plans else org_plan)

    return rates_for


def bills(
    connection: sqlite3.Connection,
    facts: Sequence[OrgFacts],
    prices: Prices,
    *,
    now: datetime,
    sizes: Mapping[str, Mapping[str, int | None]] | None = None,
) -> list[OrgBill]:
    """Each organization's bill: from its meters where read, else from object fields with
    why (refused by the plan, or never read this period)."""
    calibrated = meters.calibrations(connection, now, sizes)
    found = []
    for org in facts:
        calibration = calibrated.get(org.org_id) or Calibration(
            org.org_id, None, "no daily storage rows and no root sizes to calibrate against"
        )
        metered = metered_org(
            connection, org.org_id, org.plan, calibration, now=now,
            project_ids=tuple(org.project_names),
        )  # fmt: skip
        if isinstance(metered, MeteredOrg):
            found.append(bill_metered(metered, _rates(prices, org.plan), now=now))
            continue
        if metered is None:
            why = "Neon's consumption data was not read for this billing period"
        else:
            why = f"Neon refused its consumption data: {metered.message or 'HTTP 403'}"
        found.append(
            bill_from_objects(
                org.org_id, org.plan, org.counters, prices.for_plan, now=now, refused_why=why
            )
        )
    return found


async def consumption_usage(
    accounts: Sequence[Account],
    store: Store,
    snapshot: Snapshot,
    settings: ConsumptionSettings,
    *,
    now: datetime,
    read: bool = True,
) -> Usage | None:
    """The audit's step before pricing: read the organizations' meters (``read``: a fresh
    sweep; a reused one prices what the store holds), then the estimates' ``Usage``.

    A failure here never fails the audit: findings are then estimated from object fields.
    """
    if read:
        try:
            await read_consumption(
                targets_of(accounts, snapshot), store, now=now, keep=settings.keep
            )
        except (NeonError, StoreError) as error:
            logger.warning("Neon's consumption meters were not read: %s", error)
    try:
        return await store.run(meters.usage_for, now, sizes_of_snapshot(snapshot))
    except StoreError as error:
        logger.warning("the stored consumption meters could not be read: %s", error)
        return None
