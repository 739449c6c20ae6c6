"""The lean consumption reader (``iter_project_rows`` / ``iter_branch_rows``): the same
readings as the models, as tuples handed over in chunks while a page is parsed, refusing
what the model reader refuses, with the same words."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from governor.neon.consumption import MeterReading, MeterRow, time_key
from governor.neon.errors import NeonProtocolError
from governor.simulator import SimulatorOptions, World
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server
from tests.neon.test_consumption_answers import PATH, frame, page, period

Serve = Callable[..., ServedSimulator]
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


def as_row(reading: MeterReading) -> MeterRow:
    return (
        reading.project_id,
        reading.branch_id or "",
        time_key(reading.start),
        time_key(reading.end),
        reading.period_id or "",
        reading.period_plan,
        reading.metric,
        reading.value,
    )


@pytest.mark.anyio
async def test_lean_rows_carry_every_reading_the_models_carry(served_simulator: Serve) -> None:
    simulator, base_url = served_simulator(
        World.generate(seed=1, orgs=1, projects=12, branches=40, now=WORLD_NOW), NO_LIMITS
    )
    org_id = next(iter(simulator.world.organizations_by_id))
    window: dict[str, Any] = {
        "start": WORLD_NOW - timedelta(hours=48),
        "end": WORLD_NOW,
        "granularity": "hourly",
    }
    async with fast_client(base_url, "sim-personal-key") as client:
        client.use_consumption_budget(60_000)
        models = [
            r async for page in client.iter_project_consumption(org_id, **window) for r in page
        ]
        rows = [row async for chunk in client.iter_project_rows(org_id, **window) for row in chunk]
        projects = sorted({row[0] for row in rows})
        branch_models = [
            r
            async for page in client.iter_branch_consumption(org_id, projects, **window)
            for r in page
        ]
        branch_rows = [
            row
            async for chunk in client.iter_branch_rows(org_id, projects, **window)
            for row in chunk
        ]
    assert rows
    assert branch_rows
    assert rows == [as_row(reading) for reading in models]
    assert branch_rows == [as_row(reading) for reading in branch_models]


@pytest.mark.anyio
async def test_a_page_is_handed_over_in_chunks_while_it_is_parsed(server: ScriptedServer) -> None:
    """Before: a whole page became one list of objects before the store saw any of it."""
    metrics = [(f"metric_{index}", index) for index in range(7)]
    server.script(
        "GET",
        PATH,
        [
            Reply(200, page(period("p", "scale", frame(*metrics)))),
            Reply(200, {"projects": [], "pagination": {"cursor": "c1"}}),
        ],
    )
    async with fast_client(server.base_url) as client:
        client.use_consumption_budget(60_000)
        chunks = [
            chunk
            async for chunk in client.iter_project_rows(
                "org-1", start=START, end=END, granularity="hourly", chunk=3
            )
        ]
    assert [len(chunk) for chunk in chunks] == [3, 3, 1]
    assert chunks[0][0] == (
        "p-1",
        "",
        "2026-11-01T10:00:00.000000+00:00",
        "2026-11-01T11:00:00.000000+00:00",
        "p",
        "scale",
        "metric_0",
        0.0,
    )


@pytest.mark.parametrize("value", [-1, -0.5, "NaN", "12", None, True, [1]])
@pytest.mark.anyio
async def test_the_lean_reader_refuses_a_value_that_cannot_be_usage_naming_where_it_was(
    server: ScriptedServer, value: Any
) -> None:
    bad = frame(("compute_unit_seconds", 10), ("child_branch_bytes_month", value))
    server.script("GET", PATH, [Reply(200, page(period("p", "scale", bad)))])
    where = r"projects\[0\]\.periods\[0\]\.consumption\[0\]\.metrics\[1\]\.value"
    async with fast_client(server.base_url) as client:
        client.use_consumption_budget(60_000)
        with pytest.raises(NeonProtocolError, match=where):
            async for _ in client.iter_project_rows(
                "org-1", start=START, end=END, granularity="hourly"
            ):
                pass


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("not an object", r"metrics\[1\] is not an object"),
        ({"value": 1}, r"metrics\[1\]\.metric_name is missing"),
        ({"metric_name": "", "value": 1}, r"metrics\[1\]\.metric_name is missing"),
    ],
)
@pytest.mark.anyio
async def test_the_lean_reader_refuses_a_malformed_metric_naming_where_it_was(
    server: ScriptedServer, entry: Any, problem: str
) -> None:
    bad = frame(("compute_unit_seconds", 10))
    bad["metrics"].append(entry)
    server.script("GET", PATH, [Reply(200, page(period("p", "scale", bad)))])
    async with fast_client(server.base_url) as client:
        client.use_consumption_budget(60_000)
        with pytest.raises(NeonProtocolError, match=problem):
            async for _ in client.iter_project_rows(
                "org-1", start=START, end=END, granularity="hourly"
            ):
                pass
