"""Neon's consumption meters: ``GET /consumption_history/v2/projects`` and ``/v2/branches``.

Why a budget of its own: Neon publishes no rate limit for v2; the legacy consumption
endpoints allowed about 30 a minute per account on their own bucket (notes/neon-costs.md
§3.5). So these reads take a permit from ``consumption_pacer`` (30 a minute unless the
config says otherwise) before the key's, and their 429s slow only that pacer; the
request loop's retry honours ``Retry-After`` as for every read.

Every page is read (``cursor`` until a page is empty or a cursor repeats), every metric
asked for, and deleted projects too (no ``project_ids`` filter on v2/projects: they still
bill). The nested ``projects[].periods[].consumption[].metrics[]`` shape becomes flat rows
here, once: ``MeterReading`` objects, or, for the read job (``iter_project_rows``,
``iter_branch_rows``), lean ``MeterRow`` tuples handed over a chunk at a time while a page
is parsed (a 100-project hourly page is about 90,000 readings: an object each was most of
the read's CPU and memory). A bucket split across two billing periods stays two rows, a
metric name this code does not know is kept, a value that is negative or not finite is
refused with where it was, the same way on both paths. 403 (the plan does not qualify:
Free, legacy), 404 (not a member) and 406 (a range beyond the lookback) become typed
errors that say so.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from governor.neon.errors import NeonApiError, NeonAuthError, NeonNotFound
from governor.neon.http import NeonHttp
from governor.neon.ids import neon_id, shown
from governor.neon.mutations import rfc3339_seconds
from governor.neon.pacing import Pacer
from governor.neon.responses import ApiResponse

Granularity = Literal["hourly", "daily", "monthly"]
PROJECT_METRIC_NAMES: tuple[str, ...] = (
    "compute_unit_seconds",
    "root_branch_bytes_month",
    "child_branch_bytes_month",
    "instant_restore_bytes_month",
    "snapshot_storage_bytes_month",
    "public_network_transfer_bytes",
    "private_network_transfer_bytes",
    "extra_branches_month",
)
BRANCH_METRIC_NAMES: tuple[str, ...] = (
    "compute_unit_seconds",
    "root_branch_bytes_month",
    "child_branch_bytes_month",
    "instant_restore_bytes_month",
    "public_network_transfer_bytes",
    "private_network_transfer_bytes",
)
# One reading as the reader hands it to the store, lean (no object per reading): project
# id, branch id ('' for a project's row), timeframe start and end as ``time_key`` text,
# period id ('' for none), period plan, metric, value.
MeterRow = tuple[str, str, str, str, str, str | None, str, float]


def time_key(moment: datetime) -> str:
    """An aware time as the store keys it: UTC ISO-8601 with microseconds (its text order
    is time order, so the store compares windows on the text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


PROJECTS_PAGE_LIMIT = 100  # v2/projects: limit 1..100
BRANCHES_PAGE_LIMIT = 1000  # v2/branches: limit 1..1000
PROJECT_IDS_PER_REQUEST = 100  # v2/branches: project_ids 1..100
DEFAULT_REQUESTS_PER_MINUTE = 30
MAX_PAGES = 10_000  # far beyond any account; a server that never ends is stopped
ROWS_PER_CHUNK = 5_000  # rows handed to the store at a time while a page is parsed


class ConsumptionPlanRefused(NeonAuthError):
    """403: the organization's plan does not qualify (Free, legacy plans)."""


class ConsumptionNotMember(NeonNotFound):
    """404: the key is not a member of the organization."""


class ConsumptionRangeRefused(NeonApiError):
    """406: the range is invalid for the granularity (beyond its lookback)."""


_TYPED: dict[int, tuple[type[NeonApiError], str]] = {
    403: (
        ConsumptionPlanRefused,
        "Neon serves consumption data only to usage-based paid plans (Launch, Scale, Agent, "
        "Enterprise): this organization's plan (Free or a legacy plan) does not qualify",
    ),
    404: (
        ConsumptionNotMember,
        "the key is not a member of this organization (or the organization does not exist)",
    ),
    406: (
        ConsumptionRangeRefused,
        "the range is beyond the granularity's lookback (hourly 168 h, daily 60 days, "
        "monthly 1 year; nothing before 2024-03-01)",
    ),
}


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One metric in one timeframe of one billing period of a project (``branch_id``
    None) or a branch, in Neon's units."""

    project_id: str
    branch_id: str | None
    period_id: str | None
    period_plan: str | None
    start: datetime
    end: datetime
    metric: str
    value: float


def _typed(error: NeonApiError, org_id: str) -> NeonApiError:
    found = _TYPED.get(error.status)
    if found is None:
        return error
    kind, hint = found
    return kind(
        error.status,
        error.message,
        code=error.code,
        request_id=error.request_id,
        method=error.method,
        path=error.path,
        attempts=error.attempts,
        hint=f"organization {org_id}: {hint}",
    )


class NeonConsumption(NeonHttp):
    """Consumption reads, paced by ``consumption_pacer`` (a budget of their own)."""

    _consumption_pacer: Pacer | None = None

    @property
    def consumption_pacer(self) -> Pacer:
        """The consumption endpoints' own budget; 30 a minute unless ``use_consumption_budget``."""
        if self._consumption_pacer is None:
            self.use_consumption_budget(DEFAULT_REQUESTS_PER_MINUTE)
        assert self._consumption_pacer is not None
        return self._consumption_pacer

    def use_consumption_budget(
        self, requests_per_minute: int, *, pacer: Pacer | None = None
    ) -> None:
        """Pace consumption reads at ``requests_per_minute`` (``pacer``: a prepared one),
        on the key pacer's clock."""
        self._consumption_pacer = pacer or Pacer(
            requests_per_minute,
            max(1, requests_per_minute),
            clock=self.pacer.clock,
            sleep=self.pacer.sleep,
        )

    async def iter_project_consumption(
        self,
        org_id: str,
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity,
        metrics: Sequence[str] = PROJECT_METRIC_NAMES,
        limit: int = PROJECTS_PAGE_LIMIT,
    ) -> AsyncIterator[list[MeterReading]]:
        """Every project's readings of ``org_id`` in [start, end), a page at a time."""
        params = _query(
            org_id, start=start, end=end, granularity=granularity, metrics=metrics, limit=limit
        )
        async for response, items, field in self._pages(
            "/consumption_history/v2/projects", params, "projects", org_id
        ):
            yield parse_page(response, items, field)

    async def iter_project_rows(
        self,
        org_id: str,
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity,
        metrics: Sequence[str] = PROJECT_METRIC_NAMES,
        limit: int = PROJECTS_PAGE_LIMIT,
        chunk: int = ROWS_PER_CHUNK,
    ) -> AsyncIterator[list[MeterRow]]:
        """``iter_project_consumption`` lean: the readings as ``MeterRow`` tuples, at most
        ``chunk`` at a time while a page is parsed (a bad value ends the iteration where it
        is, after the chunks before it)."""
        params = _query(
            org_id, start=start, end=end, granularity=granularity, metrics=metrics, limit=limit
        )
        async for response, items, field in self._pages(
            "/consumption_history/v2/projects", params, "projects", org_id
        ):
            for rows in _chunks(parse_rows(response, items, field), chunk):
                yield rows

    async def iter_branch_consumption(
        self,
        org_id: str,
        project_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity,
        metrics: Sequence[str] = BRANCH_METRIC_NAMES,
        limit: int = BRANCHES_PAGE_LIMIT,
    ) -> AsyncIterator[list[MeterReading]]:
        """The branches' readings of ``project_ids`` (beta), 100 projects per request."""
        async for response, items, field in self._branch_pages(
            org_id, project_ids, start=start, end=end, granularity=granularity,
            metrics=metrics, limit=limit,
        ):  # fmt: skip
            yield parse_page(response, items, field)

    async def iter_branch_rows(
        self,
        org_id: str,
        project_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity,
        metrics: Sequence[str] = BRANCH_METRIC_NAMES,
        limit: int = BRANCHES_PAGE_LIMIT,
        chunk: int = ROWS_PER_CHUNK,
    ) -> AsyncIterator[list[MeterRow]]:
        """``iter_branch_consumption`` lean, as ``iter_project_rows``."""
        async for response, items, field in self._branch_pages(
            org_id, project_ids, start=start, end=end, granularity=granularity,
            metrics=metrics, limit=limit,
        ):  # fmt: skip
            for rows in _chunks(parse_rows(response, items, field), chunk):
                yield rows

    async def _branch_pages(
        self,
        org_id: str,
        project_ids: Sequence[str],
        *,
        start: datetime,
        end: datetime,
        granularity: Granularity,
        metrics: Sequence[str],
        limit: int,
    ) -> AsyncIterator[tuple[ApiResponse, list[Any], Literal["projects", "branches"]]]:
        ids = [neon_id("project_id", project_id) for project_id in project_ids]
        for first in range(0, len(ids), PROJECT_IDS_PER_REQUEST):
            chunk = ids[first : first + PROJECT_IDS_PER_REQUEST]
            params = _query(
                org_id, start=start, end=end, granularity=granularity, metrics=metrics, limit=limit
            )
            params["project_ids"] = ",".join(chunk)
            async for page in self._pages(
                "/consumption_history/v2/branches", params, "branches", org_id
            ):
                yield page

    async def _pages(
        self,
        route: str,
        params: dict[str, str | int | bool],
        field: Literal["projects", "branches"],
        org_id: str,
    ) -> AsyncIterator[tuple[ApiResponse, list[Any], Literal["projects", "branches"]]]:
        """Each page's answer and its items, until a page is empty or a cursor repeats."""
        cursors: set[str] = set()
        response: ApiResponse | None = None
        for _ in range(MAX_PAGES):
            try:
                response = await self.request(
                    "GET", route, params=params, pacer=self.consumption_pacer
                )
            except NeonApiError as error:
                raise _typed(error, org_id) from None
            items = response.field_array(field)
            if not items:
                return
            yield response, items, field
            body = response.object()
            pagination = body.get("pagination")
            cursor = pagination.get("cursor") if isinstance(pagination, dict) else None
            if not isinstance(cursor, str) or not cursor or cursor in cursors:
                return
            if len(cursor) > 1024 or not (cursor.isascii() and cursor.isprintable()):
                raise response.protocol_error(
                    f"pagination.cursor cannot be sent back: {shown(cursor)}"
                )
            cursors.add(cursor)
            params = {**params, "cursor": cursor}
        assert response is not None  # MAX_PAGES >= 1
        raise response.protocol_error(f"more than {MAX_PAGES} pages: the listing does not end")


def _chunks(rows: Iterator[MeterRow], size: int) -> Iterator[list[MeterRow]]:
    chunk: list[MeterRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_Frame = tuple[str, str | None, str | None, str | None, datetime, datetime, list[Any], str]


def _frames(
    response: ApiResponse, items: list[Any], field: Literal["projects", "branches"]
) -> Iterator[_Frame]:
    """Each timeframe of the page, checked, with its metrics still raw."""
    for index, item in enumerate(items):
        where = f"{field}[{index}]"
        if not isinstance(item, dict):
            raise response.protocol_error(f"{where} is not an object")
        project_id = _text(response, item, "project_id", where)
        branch_id = _text(response, item, "branch_id", where) if field == "branches" else None
        for p_index, period in enumerate(_list(response, item, "periods", where)):
            p_where = f"{where}.periods[{p_index}]"
            if not isinstance(period, dict):
                raise response.protocol_error(f"{p_where} is not an object")
            period_id = _optional_text(response, period, "period_id", p_where)
            period_plan = _optional_text(response, period, "period_plan", p_where)
            for c_index, frame in enumerate(_list(response, period, "consumption", p_where)):
                c_where = f"{p_where}.consumption[{c_index}]"
                if not isinstance(frame, dict):
                    raise response.protocol_error(f"{c_where} is not an object")
                start = _time(response, frame, "timeframe_start", c_where)
                end = _time(response, frame, "timeframe_end", c_where)
                if end <= start:
                    raise response.protocol_error(
                        f"{c_where}: timeframe_end is not after its start"
                    )
                metrics = _list(response, frame, "metrics", c_where)
                yield project_id, branch_id, period_id, period_plan, start, end, metrics, c_where


def _metric(response: ApiResponse, metric: object, where: str, index: int) -> tuple[str, float]:
    """One ``metrics[]`` entry's name and value; the common case checked inline, anything
    else by the full checks that name what is wrong (``where`` built only then)."""
    if type(metric) is dict:
        name = metric.get("metric_name")
        value: Any = metric.get("value")
        kind = type(value)
        if (
            type(name) is str
            and name
            and (kind is float or kind is int)
            and 0 <= value < math.inf  # NaN fails both comparisons
        ):
            return name, float(value)
    m_where = f"{where}.metrics[{index}]"
    if not isinstance(metric, dict):
        raise response.protocol_error(f"{m_where} is not an object")
    name = _text(response, metric, "metric_name", m_where)
    return name, _value(response, metric.get("value"), m_where)


def parse_rows(
    response: ApiResponse, items: list[Any], field: Literal["projects", "branches"]
) -> Iterator[MeterRow]:
    """The page's readings as lean ``MeterRow`` tuples, one timeframe at a time (its times
    parsed and keyed once, not per metric); a malformed part raises naming where it is."""
    names: dict[str, str] = {}  # one string per metric name, shared by the page's rows
    for project_id, branch_id, period_id, period_plan, start, end, metrics, where in _frames(
        response, items, field
    ):
        start_key, end_key = time_key(start), time_key(end)
        branch, period = branch_id or "", period_id or ""
        for index, metric in enumerate(metrics):
            name, value = _metric(response, metric, where, index)
            name = names.setdefault(name, name)
            yield project_id, branch, start_key, end_key, period, period_plan, name, value


def parse_page(
    response: ApiResponse, items: list[Any], field: Literal["projects", "branches"]
) -> list[MeterReading]:
    """The page's readings, flat; a malformed part raises naming where it is."""
    readings: list[MeterReading] = []
    for project_id, branch_id, period_id, period_plan, start, end, metrics, where in _frames(
        response, items, field
    ):
        for index, metric in enumerate(metrics):
            name, value = _metric(response, metric, where, index)
            readings.append(
                MeterReading(project_id, branch_id, period_id, period_plan, start, end, name, value)
            )
    return readings


def _text(response: ApiResponse, item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise response.protocol_error(f"{where}.{key} is missing or not a string")
    return value


def _optional_text(response: ApiResponse, item: dict[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise response.protocol_error(f"{where}.{key} is not a string")
    return value


def _list(response: ApiResponse, item: dict[str, Any], key: str, where: str) -> list[Any]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise response.protocol_error(f"{where}.{key} is not a list")
    return value


def _time(response: ApiResponse, item: dict[str, Any], key: str, where: str) -> datetime:
    text = _text(response, item, key, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise response.protocol_error(f"{where}.{key} is not a time: {shown(text)}") from None
    if moment.tzinfo is None:
        raise response.protocol_error(f"{where}.{key} has no time zone: {shown(text)}")
    return moment


def _value(response: ApiResponse, value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise response.protocol_error(f"{where}.value is not a number: {shown(value)}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise response.protocol_error(
            f"{where}.value must be a finite number of 0 or more: {shown(value)}"
        )
    return number


def _query(
    org_id: str,
    *,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    metrics: Sequence[str],
    limit: int,
) -> dict[str, str | int | bool]:
    """The parameters both v2 routes share (Neon requires all but ``limit``)."""
    return {
        "org_id": neon_id("org_id", org_id),
        "from": rfc3339_seconds(start),
        "to": rfc3339_seconds(end),
        "granularity": granularity,
        "metrics": ",".join(metrics),
        "limit": limit,
    }
