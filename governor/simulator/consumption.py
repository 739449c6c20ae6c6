"""Neon's consumption endpoints, served from the usage ledger (governor.simulator.usage).

``GET /consumption_history/v2/projects`` and ``/v2/branches`` with Neon's parameters,
pagination, lookback limits, plan gating and errors (note §3.2-3.3). Why a separate
limiter: Neon publishes no limit for v2; ``consumption_requests_per_minute`` lets a test
prove the governor honours a 429 with ``Retry-After`` on these routes alone.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from governor.simulator.access import Scope
from governor.simulator.context import Answer, Context
from governor.simulator.paging import Query, parse_limit, query_value
from governor.simulator.responses import ApiError
from governor.simulator.timestamps import format_timestamp, parse_timestamp
from governor.simulator.usage import (
    BRANCH_METRICS,
    PROJECT_METRICS,
    UsageLedger,
    served_value,
)
from governor.simulator.world import World

PROJECTS_ROUTE = "GET /consumption_history/v2/projects"
BRANCHES_ROUTE = "GET /consumption_history/v2/branches"
ROUTES = frozenset({PROJECTS_ROUTE, BRANCHES_ROUTE})
GRANULARITIES = ("hourly", "daily", "monthly")
EARLIEST = datetime(2024, 3, 1, tzinfo=UTC)
LOOKBACK = {"hourly": timedelta(hours=168), "daily": timedelta(days=60)}
# Plans each route serves (the spec's text: v2/branches leaves out Business).
PROJECT_PLANS = frozenset({"launch", "scale", "agent", "business", "enterprise"})
BRANCH_PLANS = frozenset({"launch", "scale", "agent", "enterprise"})
PERIOD_NAMESPACE = uuid.UUID("0b5e9a8e-4a4f-4c39-8d0e-6a61c5a0c0de")


class ConsumptionLimiter:
    """Requests per minute per key on the consumption routes only; None: no extra limit."""

    def __init__(self, per_minute: int | None) -> None:
        self.per_minute = per_minute
        self._windows: dict[str, deque[float]] = {}

    def retry_after(self, key: str, at: float) -> int | None:
        """Record the request; seconds to wait when it is over the limit, else None."""
        if self.per_minute is None:
            return None
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= at - 60.0:
            window.popleft()
        if len(window) >= self.per_minute:
            return max(1, math.ceil(window[0] + 60.0 - at))
        window.append(at)
        return None


# ----- time -------------------------------------------------------------------------


def floor_to(moment: datetime, granularity: str) -> datetime:
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if granularity == "hourly":
        return moment
    moment = moment.replace(hour=0)
    return moment if granularity == "daily" else moment.replace(day=1)


def next_bucket(moment: datetime, granularity: str) -> datetime:
    if granularity == "hourly":
        return moment + timedelta(hours=1)
    if granularity == "daily":
        return moment + timedelta(days=1)
    return (moment.replace(day=1) + timedelta(days=32)).replace(day=1)


def ceil_to(moment: datetime, granularity: str) -> datetime:
    low = floor_to(moment, granularity)
    return low if low == moment else next_bucket(low, granularity)


def buckets(start: datetime, end: datetime, granularity: str) -> list[tuple[datetime, datetime]]:
    out = []
    moment = start
    while moment < end:
        following = next_bucket(moment, granularity)
        out.append((moment, following))
        moment = following
    return out


# A bucket: its bounds, as epoch seconds, and as Neon writes them (computed once a request).
Window = tuple[datetime, datetime, float, float, str, str]


def _windows(start: datetime, end: datetime, granularity: str) -> list[Window]:
    return [
        (
            low,
            high,
            low.timestamp(),
            high.timestamp(),
            format_timestamp(low),
            format_timestamp(high),
        )
        for low, high in buckets(start, end, granularity)
    ]


def _edges(windows: list[Window]) -> list[float]:
    """Bucket boundaries as epoch seconds: every start, then the last end."""
    return [window[2] for window in windows] + [window[3] for window in windows[-1:]]


# ----- parameters -------------------------------------------------------------------


def _timestamp(query: Query, name: str) -> datetime:
    text = query_value(query, name)
    if text is None:
        raise ApiError(400, f"query parameter {name!r} is required (an RFC 3339 date-time)")
    try:
        return parse_timestamp(text).astimezone(UTC)
    except ValueError as error:
        raise ApiError(400, f"query parameter {name!r}: {error}") from None


def _metrics(query: Query, allowed: tuple[str, ...]) -> list[str]:
    names = [part.strip() for value in query.get("metrics", []) for part in value.split(",")]
    names = [name for name in names if name]
    if not names:
        raise ApiError(
            400, f"query parameter 'metrics' is required: one or more of {', '.join(allowed)}"
        )
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise ApiError(
            400, f"unknown metric(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )
    return list(dict.fromkeys(names))


def _ids(query: Query, name: str, *, required: bool) -> list[str]:
    ids = [part.strip() for value in query.get(name, []) for part in value.split(",")]
    ids = list(dict.fromkeys(part for part in ids if part))
    if required and not ids:
        raise ApiError(400, f"query parameter {name!r} is required (1 to 100 ids)")
    if len(ids) > 100:
        raise ApiError(400, f"query parameter {name!r} takes at most 100 ids, got {len(ids)}")
    return ids


def _window(query: Query, now: datetime) -> tuple[str, datetime, datetime]:
    """Granularity and the rounded [from, to); 406 when the range is invalid for it."""
    granularity = query_value(query, "granularity")
    if granularity is None:
        raise ApiError(400, "query parameter 'granularity' is required: hourly, daily or monthly")
    if granularity not in GRANULARITIES:
        raise ApiError(
            400, f"granularity must be one of hourly, daily, monthly, got {granularity!r}"
        )
    asked_start, asked_end = _timestamp(query, "from"), _timestamp(query, "to")
    if asked_start >= asked_end:
        raise ApiError(406, "'from' must be before 'to'")
    # Neon rounds both ends down to the granularity: a reader that wants the bucket still
    # filling asks up to its end (the next boundary), as the governor's reader does.
    start, end = floor_to(asked_start, granularity), floor_to(asked_end, granularity)
    if start >= end:
        raise ApiError(406, f"the range holds no whole {granularity} timeframe once rounded")
    if start < EARLIEST:
        raise ApiError(406, f"'from' must not be before {format_timestamp(EARLIEST)}")
    if granularity == "monthly":
        earliest = floor_to(now - timedelta(days=365), "monthly")
        limit = "1 year"
    else:
        earliest = floor_to(now, granularity) - LOOKBACK[granularity]
        limit = "168 hours" if granularity == "hourly" else "60 days"
    if start < earliest:
        raise ApiError(
            406,
            f"'from' is beyond the {limit} lookback of {granularity} granularity "
            f"(earliest {format_timestamp(earliest)})",
        )
    return granularity, start, end


def _organization(
    world: World, scope: Scope, query: Query, plans: frozenset[str]
) -> tuple[str, str]:
    """The org id and its plan; 404 when the key is not a member, 403 on a plan without
    v2 consumption history (Free, a legacy marketplace plan, Business on v2/branches)."""
    org_id = query_value(query, "org_id")
    if not org_id:
        raise ApiError(400, "query parameter 'org_id' is required")
    org = world.organizations_by_id.get(org_id)
    if org is None or not scope.sees_org(org_id):
        raise ApiError(404, f"not a member of organization {org_id!r}")
    plan = plan_of(world, org_id)
    managed_by = org.get("managed_by")
    if managed_by not in (None, "", "console") and plan != "free":
        raise ApiError(
            403,
            f"consumption history v2 is not available to {org_id!r}: its plan is a legacy "
            f"plan managed by {managed_by!r}",
        )
    if plan not in plans:
        raise ApiError(
            403, f"consumption history is not available on the {plan!r} plan of {org_id!r}"
        )
    return org_id, plan


def plan_of(world: World, org_id: str) -> str:
    """The organization's plan without a generation suffix (``launch_v3`` → ``launch``);
    ``scale`` when the world does not say."""
    org = world.organizations_by_id.get(org_id) or {}
    plan = str(org.get("plan") or "scale").lower()
    return plan.split("_v", 1)[0]


# ----- the answer -------------------------------------------------------------------


def _periods(
    ledger: UsageLedger,
    *,
    series: list[dict[str, float]],
    windows: list[Window],
    metrics: list[str],
    org_id: str,
    plan: str,
    storage_unit: str,
    created: float,
) -> list[dict[str, Any]]:
    """Buckets grouped into monthly billing periods; zero metrics omitted."""
    periods: dict[datetime, dict[str, Any]] = {}
    now = datetime.fromtimestamp(ledger.now, UTC)
    for (start, _, _, high, start_text, end_text), raw in zip(windows, series, strict=True):
        if high <= created or start >= now:
            continue
        measured = [
            {"metric_name": name, "value": value}
            for name in metrics
            if (value := round(served_value(name, raw[name], storage_unit)))
        ]
        month = floor_to(start, "monthly")
        period = periods.get(month)
        if period is None:
            period = {
                "period_id": str(uuid.uuid5(PERIOD_NAMESPACE, f"{org_id}:{month:%Y-%m}")),
                "period_plan": plan,
                "period_start": format_timestamp(month),
            }
            period_end = next_bucket(month, "monthly")
            if period_end <= now:
                period["period_end"] = format_timestamp(period_end)
            period["consumption"] = []
            periods[month] = period
        period["consumption"].append(
            {
                "timeframe_start": start_text,
                "timeframe_end": end_text,
                "metrics": measured,
            }
        )
    return list(periods.values())


def project_consumption(context: Context, ledger: UsageLedger) -> Answer:
    """``GET /consumption_history/v2/projects``: newest projects first, deleted included."""
    query = context.query
    granularity, start, end = _window(query, context.now)
    metrics = _metrics(query, PROJECT_METRICS)
    org_id, plan = _organization(context.world, context.scope, query, PROJECT_PLANS)
    wanted = _ids(query, "project_ids", required=False)
    limit = parse_limit(query, 1, 100, 10) or 10
    records = sorted(
        ledger.org_projects(org_id), key=lambda record: (-record.created, record.project_id)
    )
    if wanted:
        records = [record for record in records if record.project_id in set(wanted)]
    ids = [record.project_id for record in records]
    first = _after(ids, query_value(query, "cursor"))
    page = records[first : first + limit]
    windows = _windows(start, end, granularity)
    storage_unit = context.options.storage_unit
    edges = _edges(windows)
    projects = []
    for record in page:
        projects.append(
            {
                "project_id": record.project_id,
                "periods": _periods(
                    ledger, series=ledger.project_series(record.project_id, edges),
                    windows=windows, metrics=metrics, org_id=org_id, plan=plan,
                    storage_unit=storage_unit, created=record.created,
                ),
            }
        )  # fmt: skip
    cursor = page[-1].project_id if page else query_value(query, "cursor")
    return 200, {"projects": projects, "pagination": {"cursor": cursor or ""}}


def branch_consumption(context: Context, ledger: UsageLedger) -> Answer:
    """``GET /consumption_history/v2/branches`` (beta): by project id then branch id; a
    deleted branch is no longer listed (its usage stays in v2/projects)."""
    query = context.query
    granularity, start, end = _window(query, context.now)
    metrics = _metrics(query, BRANCH_METRICS)
    org_id, plan = _organization(context.world, context.scope, query, BRANCH_PLANS)
    project_ids = _ids(query, "project_ids", required=True)
    wanted = set(_ids(query, "branch_ids", required=False))
    limit = parse_limit(query, 1, 1000, 100) or 100
    org_projects = {record.project_id: record for record in ledger.org_projects(org_id)}
    items = sorted(
        (project_id, branch_id)
        for project_id in set(project_ids) & set(org_projects)
        for branch_id in ledger.branches_of(project_id, include_deleted=False)
        if not wanted or branch_id in wanted
    )
    keys = [f"{project_id}/{branch_id}" for project_id, branch_id in items]
    first = _after(keys, query_value(query, "cursor"))
    page = items[first : first + limit]
    windows = _windows(start, end, granularity)
    storage_unit = context.options.storage_unit
    edges = _edges(windows)
    branches = []
    for project_id, branch_id in page:
        created = ledger.segments[branch_id][0].meter.created
        branches.append(
            {
                "project_id": project_id,
                "branch_id": branch_id,
                "periods": _periods(
                    ledger,
                    series=ledger.branch_series(branch_id, edges),
                    windows=windows,
                    metrics=metrics,
                    org_id=org_id,
                    plan=plan,
                    storage_unit=storage_unit,
                    created=created,
                ),
            }
        )
    cursor = keys[first + len(page) - 1] if page else query_value(query, "cursor")
    return 200, {"branches": branches, "pagination": {"cursor": cursor or ""}}


def _after(keys: list[str], cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return keys.index(cursor) + 1
    except ValueError:
        raise ApiError(400, f"cursor {cursor!r} does not point into this list") from None
