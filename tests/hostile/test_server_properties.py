"""Property tests: whatever a listing route answers, the client raises only NeonError
subclasses, ends within its attempts and never hands the key on (issue: hostile input).

Bodies are arbitrary JSON-ish values (NaN, infinities, nulls, bools, huge numbers, lone
surrogates, the key itself in strings and keys) or raw bytes, served over real loopback HTTP with
arbitrary statuses; the client retries at most twice with a tiny backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor.neon.client import NeonClient
from governor.neon.errors import NeonError
from tests.hostile.hostile_server import HOSTILE_KEY, ORG_ID, PROJECT_ID
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server

KEY_PREFIX = HOSTILE_KEY[:17]
MAX_ATTEMPTS = 2

Read = Callable[[NeonClient], Awaitable[Any]]


async def _all(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


LISTINGS: dict[str, tuple[str, Read]] = {
    "organizations": ("/users/me/organizations", lambda client: client.list_organizations()),
    "projects": ("/projects", lambda client: _all(client.iter_projects(page_size=2))),
    "branches": (
        f"/projects/{PROJECT_ID}/branches",
        lambda client: _all(client.iter_branches(PROJECT_ID, page_size=2)),
    ),
    "endpoints": (
        f"/projects/{PROJECT_ID}/endpoints",
        lambda client: client.list_endpoints(PROJECT_ID),
    ),
    "personal_keys": ("/api_keys", lambda client: client.list_personal_api_keys()),
    "org_keys": (
        f"/organizations/{ORG_ID}/api_keys",
        lambda client: client.list_org_api_keys(ORG_ID),
    ),
    "operations": (
        f"/projects/{PROJECT_ID}/operations",
        lambda client: _all(client.iter_operations(PROJECT_ID, page_size=2)),
    ),
}

words = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [HOSTILE_KEY, f"Bearer {HOSTILE_KEY}", f"x{HOSTILE_KEY}y", "id", "name", "next"]
    ),
    st.sampled_from(["projects", "branches", "endpoints", "organizations", "operations"]),
    st.sampled_from(["\ud800", "a\udfffb", "\U0001f600", "\x00", "\u202e"]),
    st.sampled_from(["pagination", "cursor", "message", "request_id", "code", "created_at"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    words,
)
json_ish = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(words, children, max_size=5)
    ),
    max_leaves=25,
)
bodies = st.one_of(
    json_ish.map(lambda value: json.dumps(value).encode()),  # NaN/Infinity as JSON tokens
    st.binary(max_size=200),
    st.builds(lambda value: json.dumps(value)[:-1].encode(), json_ish),  # cut short
)
statuses = st.sampled_from([200, 200, 200, 204, 301, 400, 403, 404, 423, 429, 500, 503, 524])
content_types = st.sampled_from(["application/json", "text/html", "text/plain", ""])
header_values = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    st.sampled_from(["0", "1e400", "86400", "Mon, 01 Jan 99999999999 00:00:00 GMT", "gzip"]),
)
extra_headers = st.dictionaries(
    st.sampled_from(["Retry-After", "Date", "Content-Encoding"]), header_values, max_size=3
)
answer_headers = st.builds(
    lambda content_type, extra: {"Content-Type": content_type, **extra} if content_type else extra,
    content_types,
    extra_headers,
)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


def answered(server: ScriptedServer, route: str, reply: Reply) -> tuple[Any, BaseException | None]:
    path, read = LISTINGS[route]
    server.script("GET", path, [reply])

    async def go() -> tuple[Any, BaseException | None]:
        async with fast_client(
            server.base_url,
            HOSTILE_KEY,
            max_attempts=MAX_ATTEMPTS,
            backoff_base_seconds=0.0001,
            backoff_cap_seconds=0.001,
            timeout_seconds=5.0,
        ) as client:
            try:
                return await read(client), None
            except NeonError as error:
                return None, error
            finally:
                assert client.requests <= MAX_ATTEMPTS * 8  # a handful of pages at most

    return asyncio.run(go())


def assert_safe(result: Any, error: BaseException | None, logged: list[str]) -> None:
    """No key anywhere, and everything encodable as UTF-8 (as the store and terminals do)."""
    texts = [*logged]
    if error is not None:
        texts += [str(error), repr(error)]
    if result is not None:
        items = result if isinstance(result, list) else [result]
        texts += [json.dumps(getattr(item, "raw", None), ensure_ascii=False) for item in items]
    for text in texts:
        assert KEY_PREFIX not in text
        text.encode()


@pytest.mark.parametrize("route", list(LISTINGS))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, status=statuses, headers=answer_headers)
def test_any_answer_to_a_listing_is_a_result_or_a_neon_error_and_never_the_key(
    server: ScriptedServer, route: str, body: bytes, status: int, headers: dict[str, str]
) -> None:
    handler = _Records()
    logging.getLogger("governor").addHandler(handler)
    previous = logging.getLogger("governor").level
    logging.getLogger("governor").setLevel(logging.DEBUG)
    try:
        result, error = answered(server, route, Reply(status, body, headers))
    finally:
        logging.getLogger("governor").removeHandler(handler)
        logging.getLogger("governor").setLevel(previous)

    assert result is not None or isinstance(error, NeonError)
    assert_safe(result, error, handler.texts)


@pytest.mark.parametrize("route", ["projects", "branches", "operations"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page=st.lists(json_ish, min_size=2, max_size=2), cursor=json_ish)
def test_a_full_page_of_anything_with_any_cursor_ends_in_a_result_or_a_neon_error(
    server: ScriptedServer, route: str, page: list[Any], cursor: Any
) -> None:
    field = {"projects": "projects", "branches": "branches", "operations": "operations"}[route]
    key = "next" if route == "branches" else "cursor"
    body = json.dumps({field: page, "pagination": {key: cursor}}).encode()

    result, error = answered(server, route, Reply(200, body, {"Content-Type": "application/json"}))

    assert result is not None or isinstance(error, NeonError)
    assert_safe(result, error, [])
