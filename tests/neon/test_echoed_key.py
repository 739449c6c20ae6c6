"""Servers that echo the key back, in error messages, codes, request ids, HTML pages and
successful bodies (issue: hostile input, never a leak): redacted first, cut second."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from governor.neon.errors import NeonApiError, NeonProtocolError
from tests.hostile.hostile_server import HOSTILE_KEY, echoing
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server

PROJECT_ID = "wispy-bird-12345678"
PROJECT_PATH = f"/projects/{PROJECT_ID}"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


async def caught_error(server: ScriptedServer, path: str = PROJECT_PATH) -> NeonApiError:
    async with fast_client(server.base_url, HOSTILE_KEY, max_attempts=1) as client:
        with pytest.raises(NeonApiError) as caught:
            await client.request("GET", "/projects/{project_id}", {"project_id": PROJECT_ID})
    return caught.value


@pytest.mark.anyio
async def test_a_request_id_echoing_the_key_is_replaced_by_our_own(
    server: ScriptedServer,
) -> None:
    server.script("GET", PROJECT_PATH, [echoing(500, {"message": "boom", "request_id": "{token}"})])

    error = await caught_error(server)

    sent = server.requests_to("GET", PROJECT_PATH)[-1]
    assert error.request_id == sent.headers["X-Request-ID"]
    assert HOSTILE_KEY not in str(error)
    assert HOSTILE_KEY[:12] not in str(error)


@pytest.mark.anyio
@pytest.mark.parametrize("request_id", ["r" * 5000, "id with spaces", "id\nwith\nlines", 12.5])
async def test_an_overlong_or_odd_request_id_is_replaced_by_our_own(
    server: ScriptedServer, request_id: object
) -> None:
    server.script("GET", PROJECT_PATH, [Reply(500, {"message": "boom", "request_id": request_id})])

    error = await caught_error(server)

    assert error.request_id == server.requests_to("GET", PROJECT_PATH)[-1].headers["X-Request-ID"]


@pytest.mark.anyio
async def test_a_plausible_request_id_from_the_server_is_kept(server: ScriptedServer) -> None:
    server.script(
        "GET", PROJECT_PATH, [Reply(500, {"message": "boom", "request_id": "4f1c-neon-9a"})]
    )

    error = await caught_error(server)

    assert error.request_id == "4f1c-neon-9a"


@pytest.mark.anyio
@pytest.mark.parametrize("position", [0, 150, 190, 199, 5000])
async def test_an_html_error_page_echoing_the_key_is_redacted_before_it_is_cut(
    server: ScriptedServer, position: int
) -> None:
    page = "<html><body>" + "x" * position + "{token} was refused</body></html>"
    server.script("GET", PROJECT_PATH, [echoing(502, page)])

    error = await caught_error(server)

    assert "HTML error page" in str(error)
    assert HOSTILE_KEY[:6] not in str(error)


@pytest.mark.anyio
@pytest.mark.parametrize("padding", [0, 290, 5000])
async def test_an_error_message_and_code_echoing_the_key_are_redacted_and_capped(
    server: ScriptedServer, padding: int
) -> None:
    body = {"message": "y" * padding + "bad key {token}", "code": "x" * padding + "{token}"}
    server.script("GET", PROJECT_PATH, [echoing(400, body)])

    error = await caught_error(server)

    for text in (str(error), error.message, error.code):
        assert HOSTILE_KEY[:6] not in text
    assert len(str(error)) < 1000


@pytest.mark.anyio
@pytest.mark.parametrize("escaped", [False, True])
async def test_a_success_body_echoing_the_key_never_hands_it_on(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture, escaped: bool
) -> None:
    token = "".join(f"\\u{ord(c):04x}" for c in HOSTILE_KEY) if escaped else "{token}"
    text = (
        f'{{"project": {{"id": "{PROJECT_ID}", "name": "shop {token}", '
        f'"settings": {{"{token}": ["{token}", 1]}}}}}}'
    )
    server.script("GET", PROJECT_PATH, [echoing(200, text)])

    with caplog.at_level(logging.DEBUG):
        async with fast_client(server.base_url, HOSTILE_KEY) as client:
            found = await client.get_project(PROJECT_ID)

    assert found.name == "shop [REDACTED]"
    assert HOSTILE_KEY not in repr(found.raw)
    assert HOSTILE_KEY not in caplog.text


@pytest.mark.anyio
@pytest.mark.parametrize("position", [0, 190, 5000])
async def test_a_non_json_success_body_echoing_the_key_is_redacted_before_it_is_cut(
    server: ScriptedServer, position: int
) -> None:
    page = "<html>" + "x" * position + "{token}</html>"
    content_type = {"Content-Type": "text/html; key={token}"}
    server.script("GET", PROJECT_PATH, [echoing(200, page, content_type)])

    error = await caught_error(server)

    assert isinstance(error, NeonProtocolError)
    assert "expected a JSON body" in str(error)
    assert HOSTILE_KEY[:6] not in str(error)
