"""Sweeps of a scripted account whose answers are wrong in ways the simulator never is:
objects listed twice, a server clock days off, listings that loop."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from governor.neon.client import BRANCHES_PAGE_SIZE
from governor.simulator import Simulator, SimulatorOptions, World
from governor.sweep import sweep
from tests.conftest import WORLD_NOW
from tests.hostile.hostile_server import (
    BRANCH,
    ENDPOINT,
    HOSTILE_KEY,
    ORG_KEY,
    ORGANIZATION,
    PERSONAL_KEY,
    PREVIEW,
    PROJECT,
    PROJECT_ID,
    endless_pages,
    hostile_server,
    looping_pages,
    serve_account,
)
from tests.neon.helpers import fast_client, virtual_client
from tests.neon.scripted_server import Reply, ScriptedServer
from tests.neon.virtual_time import VirtualClock

OUR_NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with hostile_server() as scripted:
        yield scripted


@pytest.mark.anyio
async def test_objects_listed_twice_are_kept_once_per_resource_type(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    renamed = {**BRANCH, "name": "listed again"}
    serve_account(
        server,
        {
            "organizations": Reply(200, {"organizations": [ORGANIZATION, ORGANIZATION]}),
            "projects": Reply(
                200, {"projects": [PROJECT, PROJECT], "unavailable_project_ids": [PROJECT_ID]}
            ),
            "branches": Reply(200, {"branches": [BRANCH, PREVIEW, renamed, PREVIEW]}),
            "endpoints": Reply(200, {"endpoints": [ENDPOINT, ENDPOINT]}),
            "personal_keys": Reply(200, [PERSONAL_KEY, PERSONAL_KEY]),
            "org_keys": Reply(200, [ORG_KEY, PERSONAL_KEY, ORG_KEY]),
        },
    )

    with caplog.at_level(logging.WARNING, logger="governor.sweep"):
        async with fast_client(server.base_url, HOSTILE_KEY) as client:
            snapshot = await sweep(client)

    assert snapshot.complete, snapshot.incomplete
    assert [org.id for org in snapshot.organizations] == [ORGANIZATION["id"]]
    assert snapshot.org_ids == [ORGANIZATION["id"]]
    assert [project.id for project in snapshot.projects] == [PROJECT_ID]
    assert [branch.id for branch in snapshot.branches] == [BRANCH["id"], PREVIEW["id"]]
    assert snapshot.branches[0].name == BRANCH["name"]  # the first one is kept
    assert [endpoint.id for endpoint in snapshot.endpoints] == [ENDPOINT["id"]]
    assert [(record.key.id, record.scope) for record in snapshot.api_keys] == [
        (PERSONAL_KEY["id"], "personal"),
        (ORG_KEY["id"], "organization"),
    ]
    assert "more than once" in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("date", "skew", "warned"),
    [
        ("Mon, 30 Nov 2026 12:00:00 GMT", 3 * 86_400.0, True),
        ("Tue, 24 Nov 2026 12:00:00 GMT", -3 * 86_400.0, True),
        ("Fri, 27 Nov 2026 12:04:00 GMT", 240.0, False),
    ],
)
async def test_the_snapshot_records_the_servers_clock_skew_and_warns_when_large(
    server: ScriptedServer,
    caplog: pytest.LogCaptureFixture,
    date: str,
    skew: float,
    warned: bool,
) -> None:
    serve_account(server, headers={"Date": date})

    with caplog.at_level(logging.WARNING, logger="governor.sweep"):
        async with fast_client(
            server.base_url, HOSTILE_KEY, wall_clock=OUR_NOW.timestamp
        ) as client:
            snapshot = await sweep(client, now=OUR_NOW)

    assert snapshot.complete, snapshot.incomplete
    assert snapshot.clock_skew_seconds == skew
    assert snapshot.to_json()["clock_skew_seconds"] == skew
    warnings = [record for record in caplog.records if record.name == "governor.sweep"]
    assert bool(warnings) is warned
    if warned:
        assert "clock" in warnings[0].getMessage()


@pytest.mark.anyio
async def test_a_sweep_without_date_headers_leaves_the_skew_unknown() -> None:
    clock = VirtualClock()
    simulator = Simulator(
        World.generate(seed=1, now=WORLD_NOW),
        SimulatorOptions(date_header=False),
        clock=clock,
        now=lambda: WORLD_NOW,
    )
    async with virtual_client(simulator, clock) as client:
        snapshot = await clock.run(sweep(client, now=WORLD_NOW))

    assert snapshot.clock_skew_seconds is None


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["looping", "endless"])
async def test_a_branch_listing_that_never_ends_leaves_the_branches_incomplete(
    server: ScriptedServer, kind: str
) -> None:
    if kind == "looping":
        page = [{**BRANCH, "id": f"br-{index}"} for index in range(BRANCHES_PAGE_SIZE)]
        serve_account(server, {"branches": looping_pages("branches", page, "next")})
    else:
        pages = endless_pages("branches", BRANCH, BRANCHES_PAGE_SIZE, "next")
        serve_account(server, {"branches": pages})

    limit = 3 * BRANCHES_PAGE_SIZE
    async with fast_client(server.base_url, HOSTILE_KEY, max_listing_items=limit) as client:
        snapshot = await sweep(client)

    (part,) = snapshot.incomplete
    assert (part.kind, part.project_id) == ("branches", PROJECT_ID)
    assert "NeonProtocolError" not in part.reason  # a message, not a repr
    assert snapshot.branches == []
    assert [project.id for project in snapshot.projects] == [PROJECT_ID]
    assert len(server.requests_to("GET", f"/projects/{PROJECT_ID}/branches")) <= 3
