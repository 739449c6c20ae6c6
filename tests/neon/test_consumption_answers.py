"""The consumption reader against answers the simulator never gives: a bucket split across
two billing periods, a metric this code does not know, values that cannot be usage, and a
cursor that repeats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from governor.neon.consumption import MeterReading
from governor.neon.errors import NeonProtocolError
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server

PATH = "/consumption_history/v2/projects"
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


def frame(*metrics: tuple[str, Any]) -> dict[str, Any]:
    return {
        "timeframe_start": "2026-11-01T10:00:00Z",
        "timeframe_end": "2026-11-01T11:00:00Z",
        "metrics": [{"metric_name": name, "value": value} for name, value in metrics],
    }


def page(*periods: dict[str, Any], cursor: str = "c1") -> dict[str, Any]:
    return {
        "projects": [{"project_id": "p-1", "periods": list(periods)}],
        "pagination": {"cursor": cursor},
    }


def period(period_id: str, plan: str, *frames: dict[str, Any]) -> dict[str, Any]:
    return {
        "period_id": period_id,
        "period_plan": plan,
        "period_start": "2026-11-01T00:00:00Z",
        "consumption": list(frames),
    }


async def read(server: ScriptedServer) -> list[MeterReading]:
    async with fast_client(server.base_url) as client:
        client.use_consumption_budget(60_000)
        return [
            reading
            async for found in client.iter_project_consumption(
                "org-1", start=START, end=END, granularity="hourly"
            )
            for reading in found
        ]


@pytest.mark.anyio
async def test_a_bucket_split_across_two_periods_stays_two_readings(
    server: ScriptedServer,
) -> None:
    server.script(
        "GET",
        PATH,
        [
            Reply(
                200,
                page(
                    period("p-launch", "launch", frame(("compute_unit_seconds", 1800))),
                    period("p-scale", "scale", frame(("compute_unit_seconds", 900))),
                ),
            ),
            Reply(200, {"projects": [], "pagination": {"cursor": "c1"}}),
        ],
    )
    readings = await read(server)
    assert [(r.period_id, r.period_plan, r.value) for r in readings] == [
        ("p-launch", "launch", 1800),
        ("p-scale", "scale", 900),
    ]
    assert readings[0].start == readings[1].start


@pytest.mark.anyio
async def test_a_metric_name_this_code_does_not_know_is_kept(server: ScriptedServer) -> None:
    server.script(
        "GET",
        PATH,
        [
            Reply(200, page(period("p", "scale", frame(("object_storage_bytes", 5))))),
            Reply(200, {"projects": [], "pagination": {"cursor": "c1"}}),
        ],
    )
    [reading] = await read(server)
    assert (reading.metric, reading.value) == ("object_storage_bytes", 5)


@pytest.mark.parametrize("value", [-1, -0.5, "NaN", "12", None, True])
@pytest.mark.anyio
async def test_a_value_that_cannot_be_usage_is_refused_naming_where_it_was(
    server: ScriptedServer, value: Any
) -> None:
    bad = frame(("compute_unit_seconds", 10), ("child_branch_bytes_month", value))
    body = page(period("p", "scale", bad))
    server.script("GET", PATH, [Reply(200, body)])
    where = r"projects\[0\]\.periods\[0\]\.consumption\[0\]\.metrics\[1\]\.value"
    with pytest.raises(NeonProtocolError, match=where):
        await read(server)


@pytest.mark.anyio
async def test_a_repeated_cursor_ends_the_listing(server: ScriptedServer) -> None:
    one = page(period("p", "scale", frame(("compute_unit_seconds", 1))), cursor="same")
    server.script("GET", PATH, [Reply(200, one)])
    readings = await read(server)
    assert len(readings) == 2  # the first page and the one its cursor named, then stop
    assert len(server.requests_to("GET", PATH)) == 2
