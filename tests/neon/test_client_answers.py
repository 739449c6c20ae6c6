"""The client against answers the simulator never gives, over a scripted loopback server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from governor.neon.client import NeonClient
from governor.neon.errors import (
    NeonApiError,
    NeonAuthError,
    NeonNotFound,
    NeonProtocolError,
    NeonRateLimited,
    NeonServerError,
    NeonTransportError,
    auth_hint,
)
from tests.neon.helpers import SECRET_KEY, FailingFirstTransport, fast_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server
from tests.neon.virtual_time import SteppingClock

PROJECT = {"id": "wispy-bird-12345678", "name": "shop"}
BRANCH = {"id": "br-cool-dew-123456", "project_id": PROJECT["id"], "name": "preview/pr-1"}
ENDPOINT = {
    "id": "ep-old-sun-123456",
    "project_id": PROJECT["id"],
    "branch_id": BRANCH["id"],
    "autoscaling_limit_min_cu": 0.25,
    "autoscaling_limit_max_cu": 2,
}
HTML_524 = "<!DOCTYPE html><html><head><title>524: A timeout occurred</title></head></html>"
PROJECT_PATH = f"/projects/{PROJECT['id']}"
BRANCH_PATH = f"{PROJECT_PATH}/branches/{BRANCH['id']}"
ENDPOINT_PATH = f"{PROJECT_PATH}/endpoints/{ENDPOINT['id']}"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


def error(message: str, code: str = "") -> dict[str, Any]:
    return {"code": code, "message": message}


@pytest.mark.anyio
async def test_it_sends_its_headers_and_a_fresh_request_id_per_attempt(
    server: ScriptedServer,
) -> None:
    server.script(
        "GET", PROJECT_PATH, [Reply(503, error("busy")), Reply(200, {"project": PROJECT})]
    )

    async with fast_client(server.base_url) as client:
        project = await client.get_project(PROJECT["id"])

    assert project.raw == PROJECT
    first, second = server.requests_to("GET", PROJECT_PATH)
    assert first.headers["Authorization"] == f"Bearer {SECRET_KEY}"
    assert first.headers["Accept"] == "application/json"
    assert first.headers["User-Agent"].startswith("neon-governor/")
    ids = {first.headers["X-Request-ID"], second.headers["X-Request-ID"]}
    assert len(ids) == 2
    assert all(uuid.UUID(request_id).version == 4 for request_id in ids)
    assert client.requests == 2


@pytest.mark.anyio
async def test_an_html_page_instead_of_json_is_a_protocol_error_naming_the_request(
    server: ScriptedServer,
) -> None:
    page = "<html><head><title>Down for maintenance</title></head><body>back soon</body></html>"
    server.script("GET", PROJECT_PATH, [Reply(200, page)])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError) as caught:
            await client.get_project(PROJECT["id"])

    message = str(caught.value)
    assert caught.value.status == 200
    assert "text/html" in message
    assert "Down for maintenance" in message
    (request,) = server.requests_to("GET", PROJECT_PATH)
    assert request.headers["X-Request-ID"] in message
    assert f"GET {PROJECT_PATH}" in message


@pytest.mark.anyio
async def test_malformed_json_is_a_protocol_error(server: ScriptedServer) -> None:
    server.script(
        "GET",
        PROJECT_PATH,
        [Reply(200, b'{"project": {"id": ', {"Content-Type": "application/json"})],
    )

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match="expected a JSON body"):
            await client.get_project(PROJECT["id"])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"pagination": {"cursor": "x"}}, "required field 'projects' is missing"),
        ({"projects": {"id": "x"}}, "'projects' is an object, not an array"),
        ({"projects": [{"name": "no id"}]}, "projects[0]: id: Field required"),
        ({"projects": ["text"]}, "projects[0]: expected an object, got str"),
        ([], "expected a JSON object, got an array"),
    ],
)
async def test_an_answer_missing_required_fields_says_where(
    server: ScriptedServer, body: Any, expected: str
) -> None:
    server.script("GET", "/projects", [Reply(200, body)])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError) as caught:
            [project async for project in client.iter_projects()]

    assert expected in str(caught.value)


@pytest.mark.anyio
async def test_a_cloudflare_524_page_is_retried_for_reads(server: ScriptedServer) -> None:
    server.script("GET", PROJECT_PATH, [Reply(524, HTML_524), Reply(200, {"project": PROJECT})])

    async with fast_client(server.base_url) as client:
        project = await client.get_project(PROJECT["id"])

    assert project.id == PROJECT["id"]
    assert len(server.requests_to("GET", PROJECT_PATH)) == 2


@pytest.mark.anyio
async def test_server_errors_surface_once_the_retry_budget_is_spent(
    server: ScriptedServer,
) -> None:
    server.script("GET", PROJECT_PATH, [Reply(524, HTML_524)])

    async with fast_client(server.base_url, max_attempts=3) as client:
        with pytest.raises(NeonServerError) as caught:
            await client.get_project(PROJECT["id"])

    assert caught.value.status == 524
    assert "HTML error page" in str(caught.value)
    assert "524: A timeout occurred" in str(caught.value)
    assert "after 3 attempts" in str(caught.value)
    last = server.requests_to("GET", PROJECT_PATH)[-1]
    assert last.headers["X-Request-ID"] in str(caught.value)
    assert len(server.requests_to("GET", PROJECT_PATH)) == 3


@pytest.mark.anyio
@pytest.mark.parametrize("status", [500, 502, 503, 504, 423, 429])
async def test_reads_are_retried_on_transient_statuses(server: ScriptedServer, status: int) -> None:
    server.script(
        "GET",
        f"{PROJECT_PATH}/endpoints",
        [Reply(status, error("x")), Reply(200, {"endpoints": [ENDPOINT]})],
    )

    async with fast_client(server.base_url) as client:
        endpoints = await client.list_endpoints(PROJECT["id"])

    assert [endpoint.id for endpoint in endpoints] == [ENDPOINT["id"]]
    assert len(server.requests_to("GET", f"{PROJECT_PATH}/endpoints")) == 2


MUTATION_ANSWER = {"endpoint": ENDPOINT, "operations": []}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "retried"),
    [(423, True), (429, True), (503, True), (500, False), (502, False), (504, False), (524, False)],
)
async def test_mutations_are_retried_only_where_neon_says_it_is_safe(
    server: ScriptedServer, status: int, retried: bool
) -> None:
    body: Any = HTML_524 if status == 524 else error("no")
    server.script(
        "POST", f"{ENDPOINT_PATH}/suspend", [Reply(status, body), Reply(200, MUTATION_ANSWER)]
    )

    async with fast_client(server.base_url) as client:
        if retried:
            result = await client.suspend_endpoint(PROJECT["id"], ENDPOINT["id"])
            assert result.resource is not None
            assert result.resource.id == ENDPOINT["id"]
        else:
            with pytest.raises(NeonApiError) as caught:
                await client.suspend_endpoint(PROJECT["id"], ENDPOINT["id"])
            assert caught.value.status == status

    assert len(server.requests_to("POST", f"{ENDPOINT_PATH}/suspend")) == (2 if retried else 1)


@pytest.mark.anyio
async def test_a_mutation_is_retried_when_the_connection_failed_before_sending(
    server: ScriptedServer,
) -> None:
    server.script("DELETE", BRANCH_PATH, [Reply(200, {"branch": BRANCH, "operations": []})])
    transport = FailingFirstTransport(httpx.ConnectError)

    async with fast_client(server.base_url, transport=transport) as client:
        result = await client.delete_branch(PROJECT["id"], BRANCH["id"])

    assert result.resource is not None
    assert client.requests == 2
    assert len(server.requests_to("DELETE", BRANCH_PATH)) == 1


@pytest.mark.anyio
async def test_a_mutation_is_not_retried_when_the_connection_broke_after_sending(
    server: ScriptedServer,
) -> None:
    server.script("DELETE", BRANCH_PATH, [Reply(200, {"branch": BRANCH, "operations": []})])
    transport = FailingFirstTransport(httpx.RemoteProtocolError)

    async with fast_client(server.base_url, transport=transport) as client:
        with pytest.raises(NeonTransportError, match="RemoteProtocolError"):
            await client.delete_branch(PROJECT["id"], BRANCH["id"])

    assert client.requests == 1


@pytest.mark.anyio
async def test_a_timed_out_read_is_retried_and_a_timed_out_mutation_is_not(
    server: ScriptedServer,
) -> None:
    slow = Reply(200, {"project": PROJECT}, delay_seconds=0.6)
    server.script("GET", PROJECT_PATH, [slow, Reply(200, {"project": PROJECT})])
    server.script("PATCH", BRANCH_PATH, [Reply(200, {"branch": BRANCH}, delay_seconds=0.6)])

    async with fast_client(server.base_url, timeout_seconds=0.2) as client:
        project = await client.get_project(PROJECT["id"])
        with pytest.raises(NeonTransportError, match="ReadTimeout") as caught:
            await client.update_branch(PROJECT["id"], BRANCH["id"], name="renamed")

    assert project.id == PROJECT["id"]
    assert len(server.requests_to("GET", PROJECT_PATH)) == 2
    (patch,) = server.requests_to("PATCH", BRANCH_PATH)
    assert patch.headers["X-Request-ID"] in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("header", ["seconds", "http-date"])
async def test_a_429_honours_retry_after_for_everyone(server: ScriptedServer, header: str) -> None:
    value = (
        "4" if header == "seconds" else formatdate(datetime.now(UTC).timestamp() + 4, usegmt=True)
    )
    server.script(
        "GET",
        PROJECT_PATH,
        [Reply(429, error("too many"), {"Retry-After": value}), Reply(200, {"project": PROJECT})],
    )
    clock = SteppingClock()

    async with fast_client(
        server.base_url, clock=clock, sleep=clock.sleep, backoff_cap_seconds=30.0
    ) as client:
        start = clock.now
        await client.get_project(PROJECT["id"])

    assert clock.now - start >= 2.9  # an HTTP date has one-second precision
    assert client.pacer.rate_fraction < 1.0
    assert client.rate_limited_responses == 1


@pytest.mark.anyio
async def test_a_429_without_retry_after_backs_off_and_surfaces_only_when_the_budget_is_spent(
    server: ScriptedServer,
) -> None:
    server.script("GET", PROJECT_PATH, [Reply(429, error("too many requests"))])
    clock = SteppingClock()

    async with fast_client(
        server.base_url,
        clock=clock,
        sleep=clock.sleep,
        max_attempts=4,
        backoff_base_seconds=1.0,
        backoff_cap_seconds=30.0,
        random_fraction=lambda: 1.0,
    ) as client:
        with pytest.raises(NeonRateLimited) as caught:
            await client.get_project(PROJECT["id"])

    assert caught.value.attempts == 4
    assert client.rate_limited_responses == 4
    assert [delay for delay in clock.slept if delay >= 1.0][:3] == [1.0, 2.0, 4.0]


@pytest.mark.anyio
async def test_a_refused_key_is_an_auth_error_that_never_shows_the_key(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    echo = error(f"invalid API key {SECRET_KEY}")
    server.script("GET", "/users/me/organizations", [Reply(401, echo)])

    with caplog.at_level(logging.DEBUG):
        async with fast_client(server.base_url) as client:
            with pytest.raises(NeonAuthError) as caught:
                await client.list_organizations()

    message = str(caught.value)
    assert SECRET_KEY not in message
    assert "invalid or revoked" in message
    assert SECRET_KEY not in caplog.text
    assert len(server.received) == 1


@pytest.mark.anyio
async def test_a_forbidden_request_says_the_scope_is_not_known_to_the_client(
    server: ScriptedServer,
) -> None:
    server.script("GET", "/api_keys", [Reply(403, error("forbidden"))])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonAuthError, match="scope is not known") as caught:
            await client.list_personal_api_keys()

    assert "does not allow this request" in caught.value.hint


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("scope", "says"),
    [
        ("organization", "cannot list other organizations or personal API keys"),
        ("project", "covers only its one project"),
        ("personal", "acts as its user"),
        (None, "scope is not known"),
    ],
)
async def test_a_caller_that_knows_the_scope_rehints_the_error_with_what_it_cannot_do(
    server: ScriptedServer, scope: str | None, says: str
) -> None:
    server.script("GET", "/api_keys", [Reply(403, error("forbidden"))])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonAuthError) as caught:
            await client.list_personal_api_keys()

    rehinted = caught.value.with_hint(auth_hint(403, scope))
    assert type(rehinted) is NeonAuthError
    assert says in str(rehinted)
    assert (rehinted.status, rehinted.message, rehinted.request_id) == (
        403,
        "forbidden",
        caught.value.request_id,
    )
    assert str(rehinted).startswith(
        f"GET /api_keys: HTTP 403: forbidden (request id {caught.value.request_id})"
    )


@pytest.mark.anyio
async def test_a_personal_key_without_org_id_is_told_to_pass_it(server: ScriptedServer) -> None:
    message = "org_id is required, you can find it on your organization settings page"
    server.script("GET", "/projects", [Reply(400, error(message))])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonApiError, match="pass org_id") as caught:
            await client.iter_projects().__anext__()

    assert caught.value.status == 400
    assert len(server.received) == 1


@pytest.mark.anyio
async def test_a_missing_object_is_not_found(server: ScriptedServer) -> None:
    server.script("GET", PROJECT_PATH, [Reply(404, error("project not found"))])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonNotFound, match="project not found"):
            await client.get_project(PROJECT["id"])


@pytest.mark.anyio
async def test_a_full_page_without_a_cursor_fails_closed(server: ScriptedServer) -> None:
    page = {"projects": [PROJECT, {**PROJECT, "id": "other-project-1"}]}
    server.script("GET", "/projects", [Reply(200, page)])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match="cannot tell whether more follow"):
            [project async for project in client.iter_projects(page_size=2)]


@pytest.mark.anyio
async def test_a_cursor_that_does_not_advance_stops_the_walk(server: ScriptedServer) -> None:
    page = {
        "projects": [PROJECT, {**PROJECT, "id": "other-project-1"}],
        "pagination": {"cursor": "same"},
    }
    server.script("GET", "/projects", [Reply(200, page)])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match="repeated an earlier value"):
            [project async for project in client.iter_projects(page_size=2)]

    assert len(server.received) == 2


@pytest.mark.anyio
async def test_deleting_a_branch_that_is_already_gone_says_so(server: ScriptedServer) -> None:
    server.script("DELETE", BRANCH_PATH, [Reply(204)])

    async with fast_client(server.base_url) as client:
        result = await client.delete_branch(PROJECT["id"], BRANCH["id"])

    assert result.already_gone
    assert result.resource is None
    assert result.operations == []


@pytest.mark.anyio
async def test_update_branch_sends_expires_at_as_rfc3339_seconds_or_null(
    server: ScriptedServer,
) -> None:
    server.script("PATCH", BRANCH_PATH, [Reply(200, {"branch": BRANCH, "operations": []})])
    expiry = datetime(2026, 12, 1, 13, 30, 15, 999_000, tzinfo=UTC) + timedelta(hours=1)

    async with fast_client(server.base_url) as client:
        await client.update_branch(PROJECT["id"], BRANCH["id"], expires_at=expiry)
        await client.update_branch(PROJECT["id"], BRANCH["id"], expires_at=None)
        with pytest.raises(ValueError, match="timezone-aware"):
            await client.update_branch(
                PROJECT["id"], BRANCH["id"], expires_at=datetime(2026, 12, 1)
            )
        with pytest.raises(ValueError, match="at least one change"):
            await client.update_branch(PROJECT["id"], BRANCH["id"])

    first, second = server.requests_to("PATCH", BRANCH_PATH)
    assert first.json() == {"branch": {"expires_at": "2026-12-01T14:30:15Z"}}
    assert second.json() == {"branch": {"expires_at": None}}


def test_the_client_repr_never_shows_the_key() -> None:
    client = NeonClient(SECRET_KEY, base_url="http://127.0.0.1:9/api/v2")
    assert SECRET_KEY not in repr(client)
    assert repr(client) == "NeonClient(base_url='http://127.0.0.1:9/api/v2')"


@pytest.mark.anyio
async def test_a_cancelled_request_gives_its_place_in_the_window_back(
    server: ScriptedServer,
) -> None:
    slow = Reply(200, {"project": PROJECT}, delay_seconds=0.5)
    server.script("GET", PROJECT_PATH, [slow, Reply(200, {"project": PROJECT})])

    # Two per second per route, less the margin: one request at a time on this route.
    async with fast_client(server.base_url, requests_per_second_per_route=2) as client:
        abandoned = asyncio.ensure_future(client.get_project(PROJECT["id"]))
        await asyncio.sleep(0.1)
        abandoned.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await abandoned
        project = await asyncio.wait_for(client.get_project(PROJECT["id"]), timeout=5)

    assert project.id == PROJECT["id"]
