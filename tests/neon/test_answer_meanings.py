"""What the client makes of an answer's headers and hints: the server's clock, the org_id
hint, and objects listed twice (issue: hostile input, never a wrong resolved)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from governor.neon.errors import NeonApiError, NeonUsageError
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server

PROJECT_ID = "wispy-bird-12345678"
PROJECT = {"id": PROJECT_ID, "name": "shop"}
OUR_NOW = 1_795_780_800.0  # 2026-11-27 12:00:00 UTC on our (injected) wall clock
THREE_DAYS = 3 * 86_400


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("date", "skew"),
    [
        ("Mon, 30 Nov 2026 12:00:00 GMT", THREE_DAYS),
        ("Tue, 24 Nov 2026 12:00:00 GMT", -THREE_DAYS),
        ("Fri, 27 Nov 2026 12:00:00 GMT", 0.0),
    ],
)
async def test_the_client_remembers_how_far_the_servers_clock_is_off(
    server: ScriptedServer, date: str, skew: float
) -> None:
    server.script(
        "GET", f"/projects/{PROJECT_ID}", [Reply(200, {"project": PROJECT}, {"Date": date})]
    )

    async with fast_client(server.base_url, wall_clock=lambda: OUR_NOW) as client:
        assert client.clock_skew_seconds is None
        await client.get_project(PROJECT_ID)

    assert client.clock_skew_seconds == skew


@pytest.mark.anyio
@pytest.mark.parametrize("date", ["yesterday", "", "Mon, 99 Zzz 99999 99:99:99 GMT", "0" * 500])
async def test_an_unreadable_date_header_leaves_the_skew_as_it_was(
    server: ScriptedServer, date: str
) -> None:
    good = Reply(200, {"project": PROJECT}, {"Date": "Mon, 30 Nov 2026 12:00:00 GMT"})
    bad = Reply(200, {"project": PROJECT}, {"Date": date})
    server.script("GET", f"/projects/{PROJECT_ID}", [good, bad])

    async with fast_client(server.base_url, wall_clock=lambda: OUR_NOW) as client:
        await client.get_project(PROJECT_ID)
        await client.get_project(PROJECT_ID)

    assert client.clock_skew_seconds == THREE_DAYS


@pytest.mark.anyio
async def test_an_invalid_org_id_that_was_passed_gets_no_pass_org_id_hint(
    server: ScriptedServer,
) -> None:
    server.script("GET", "/projects", [Reply(400, {"code": "", "message": "invalid org_id"})])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonApiError) as caught:
            await client.iter_projects("org-nope-12345678").__anext__()

    assert caught.value.status == 400
    assert caught.value.hint == ""
    assert "pass org_id" not in str(caught.value)


@pytest.mark.anyio
async def test_a_branch_listed_twice_in_one_page_is_yielded_once(server: ScriptedServer) -> None:
    twice = {"id": "br-twice-1234", "project_id": PROJECT_ID, "name": "twice"}
    once = {**twice, "id": "br-once-1234", "name": "once"}
    server.script(
        "GET", f"/projects/{PROJECT_ID}/branches", [Reply(200, {"branches": [twice, twice, once]})]
    )

    async with fast_client(server.base_url) as client:
        found = [branch.id async for branch in client.iter_branches(PROJECT_ID, page_size=10)]

    assert found == ["br-twice-1234", "br-once-1234"]


@pytest.mark.anyio
@pytest.mark.parametrize("org_id", ["X" * 100_000, "org id", "../org"])
async def test_an_org_id_no_url_can_carry_is_refused_before_anything_is_sent(
    server: ScriptedServer, org_id: str
) -> None:
    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonUsageError, match="nothing was sent") as caught:
            await client.iter_projects(org_id).__anext__()

    assert caught.value.parameter == "org_id"
    assert len(str(caught.value)) < 300
    assert server.received == []
