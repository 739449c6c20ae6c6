"""Answers that would keep the client busy forever: looping and endless listings,
trickled bodies, Retry-After far in the future (issue: hostile input, never a hang)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from governor.neon.errors import NeonProtocolError, NeonRateLimited, NeonTransportError
from tests.hostile.hostile_server import endless_pages, looping_pages, trickled
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server
from tests.neon.virtual_time import SteppingClock

PROJECT_ID = "wispy-bird-12345678"
PROJECT = {"id": PROJECT_ID, "name": "shop"}
BRANCHES_PATH = f"/projects/{PROJECT_ID}/branches"
BRANCH_PATH = f"{BRANCHES_PATH}/br-cool-dew-123456"


def branch(branch_id: str) -> dict[str, str]:
    return {"id": branch_id, "project_id": PROJECT_ID, "name": branch_id}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


@pytest.mark.anyio
async def test_a_project_listing_repeating_its_page_under_fresh_cursors_stops(
    server: ScriptedServer,
) -> None:
    page = [PROJECT, {**PROJECT, "id": "other-project-1"}]
    server.script("GET", "/projects", [looping_pages("projects", page, "cursor")])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match="no project not seen before") as caught:
            [project async for project in client.iter_projects(page_size=2)]

    assert len(server.received) == 2
    assert "GET /projects" in str(caught.value)


@pytest.mark.anyio
async def test_a_branch_listing_repeating_its_page_under_fresh_cursors_stops(
    server: ScriptedServer,
) -> None:
    page = [branch("br-a-1"), branch("br-b-2")]
    server.script("GET", BRANCHES_PATH, [looping_pages("branches", page, "next")])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match="no branch not seen before"):
            [item async for item in client.iter_branches(PROJECT_ID, page_size=2)]

    assert len(server.received) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("cursor", ["x" * 100_000, "\x00\r\nGET /", "caf\u00e9", "\ud800"])
async def test_a_cursor_that_cannot_go_back_into_a_url_stops_the_walk(
    server: ScriptedServer, cursor: str
) -> None:
    page = {"projects": [PROJECT], "pagination": {"cursor": cursor}}
    server.script("GET", "/projects", [Reply(200, page)])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match="printable ASCII"):
            [project async for project in client.iter_projects(page_size=1)]

    assert len(server.received) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "field", "item", "cursor_key"),
    [
        ("/projects", "projects", PROJECT, "cursor"),
        (BRANCHES_PATH, "branches", branch("br-new"), "next"),
    ],
)
async def test_a_listing_that_never_ends_stops_at_the_page_cap(
    server: ScriptedServer, path: str, field: str, item: dict[str, str], cursor_key: str
) -> None:
    server.script("GET", path, [endless_pages(field, item, 10, cursor_key)])

    async with fast_client(server.base_url, max_listing_items=50) as client:
        listing = (
            client.iter_projects(page_size=10)
            if field == "projects"
            else client.iter_branches(PROJECT_ID, page_size=10)
        )
        with pytest.raises(NeonProtocolError, match="more than 5 pages"):
            [found async for found in listing]

    assert len(server.received) == 5


@pytest.mark.anyio
async def test_a_trickled_body_times_out_per_attempt_and_a_read_retries_it(
    server: ScriptedServer,
) -> None:
    # 1,000 bytes at one every 0.2 s: 200 s per answer, against a 1 s budget per attempt.
    body = b'{"project": {"id": "wispy-bird-12345678", "name": "' + b"x" * 940 + b'"}}'
    server.script("GET", f"/projects/{PROJECT_ID}", [trickled(body, 0.2)])
    started = time.monotonic()

    async with fast_client(server.base_url, timeout_seconds=1.0, max_attempts=2) as client:
        with pytest.raises(NeonTransportError, match="ReadTimeout") as caught:
            await client.get_project(PROJECT_ID)

    assert "within 1 s" in str(caught.value)
    assert "after 2 attempts" in str(caught.value)
    assert client.requests == 2
    assert time.monotonic() - started < 40  # 20x the 2 s the attempts may take


@pytest.mark.anyio
async def test_a_trickled_answer_to_a_mutation_times_out_once_and_is_not_retried(
    server: ScriptedServer,
) -> None:
    body = b'{"branch": {"id": "br-cool-dew-123456", "name": "' + b"x" * 950 + b'"}}'
    server.script("PATCH", BRANCH_PATH, [trickled(body, 0.2)])

    async with fast_client(server.base_url, timeout_seconds=1.0, max_attempts=3) as client:
        with pytest.raises(NeonTransportError, match="ReadTimeout"):
            await client.update_branch(PROJECT_ID, "br-cool-dew-123456", name="renamed")

    assert client.requests == 1


@pytest.mark.anyio
async def test_retry_after_is_capped_at_the_backoff_cap_and_the_real_wait_is_logged(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    too_many = Reply(429, {"code": "", "message": "slow down"}, {"Retry-After": "3600"})
    server.script("GET", f"/projects/{PROJECT_ID}", [too_many, Reply(200, {"project": PROJECT})])
    clock = SteppingClock()

    with caplog.at_level(logging.WARNING, logger="governor.neon"):
        async with fast_client(
            server.base_url, clock=clock, sleep=clock.sleep, backoff_cap_seconds=2.0
        ) as client:
            await client.get_project(PROJECT_ID)

    assert 2.0 <= sum(clock.slept) < 3.0
    assert "retrying in 2.00 s" in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "value",
    [
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2026 00:00:00 +99999999999999999999",
        "1e400",
        "NaN",
        "-5",
        "soon",
    ],
)
async def test_an_unreadable_retry_after_means_our_own_backoff(
    server: ScriptedServer, value: str
) -> None:
    too_many = Reply(429, {"code": "", "message": "slow down"}, {"Retry-After": value})
    server.script("GET", f"/projects/{PROJECT_ID}", [too_many, Reply(200, {"project": PROJECT})])
    clock = SteppingClock()

    async with fast_client(
        server.base_url, clock=clock, sleep=clock.sleep, random_fraction=lambda: 1.0
    ) as client:
        await client.get_project(PROJECT_ID)

    assert client.rate_limited_responses == 1
    assert max(clock.slept) <= 0.01  # fast_client's backoff cap


@pytest.mark.anyio
async def test_429_forever_with_retry_after_ends_when_the_attempts_are_spent(
    server: ScriptedServer,
) -> None:
    too_many = Reply(429, {"code": "", "message": "slow down"}, {"Retry-After": "86400"})
    server.script("GET", f"/projects/{PROJECT_ID}", [too_many])
    clock = SteppingClock()

    async with fast_client(
        server.base_url, clock=clock, sleep=clock.sleep, max_attempts=3, backoff_cap_seconds=5.0
    ) as client:
        with pytest.raises(NeonRateLimited) as caught:
            await client.get_project(PROJECT_ID)

    assert caught.value.attempts == 3
    assert sum(clock.slept) <= 3 * 5.0 + 1.0
