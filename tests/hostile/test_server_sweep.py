"""The real client and sweep against a hostile server, one bad answer on one route at a time
(issue: hostile input, never a hang, never a traceback, never a leak, never a wrong resolved).

For every kind of badness the sweep ends within the configured limits with a snapshot that
is complete or lists the part it could not read; only a 401 surfaces, as a NeonAuthError;
and the key is in no exception message, no log record and no snapshot field.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from governor.model.snapshot import Snapshot
from governor.neon.errors import NeonAuthError
from governor.sweep import sweep
from tests.hostile.hostile_server import (
    BRANCH,
    HEALTHY,
    HOSTILE_KEY,
    ORG_ID,
    PROJECT,
    ROUTES,
    echoing,
    endless_pages,
    gzip_bomb,
    gzipped,
    hostile_server,
    looping_pages,
    nested,
    raw_json,
    serve_account,
    stalled,
    trickled,
)
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, Responder, ScriptedServer

KEY_PREFIX = HOSTILE_KEY[:17]  # a cut-off key must not show either
MAX_ATTEMPTS = 2
# What may be incomplete when a route answers badly: its part, and the parts under an
# object it listed with an id no request can carry ("odd ids").
PARTS = {
    "organizations": {"organizations", "projects", "api_keys"},
    "organization": {"organizations"},
    "projects": {"projects", "project", "branches", "endpoints"},
    "project": {"project"},
    "branches": {"branches"},
    "endpoints": {"endpoints"},
    "personal_keys": {"api_keys"},
    "org_keys": {"api_keys"},
}
Bad = Callable[[str], Reply | Responder | None]


def edited(route: str, **fields: Any) -> Any:
    """The route's healthy body with ``fields`` set on each of its objects."""
    body = copy.deepcopy(HEALTHY[route])
    if isinstance(body, list):
        objects = body
    elif "id" in body:
        objects = [body]
    else:
        value = next(value for key, value in body.items() if key != "pagination")
        objects = value if isinstance(value, list) else [value]
    for item in objects:
        item.update(fields)
    return body


def healthy_text(route: str) -> bytes:
    return json.dumps(HEALTHY[route]).encode()


def looping(route: str) -> Responder | None:
    if route == "projects":  # one project, 400 times: a full page, then nothing new
        return looping_pages("projects", [PROJECT] * 400, "cursor")
    if route == "branches":
        return looping_pages("branches", [{**BRANCH, "id": f"br-{n}"} for n in range(1000)], "next")
    return None


def endless(route: str) -> Responder | None:
    return endless_pages("branches", BRANCH, 1000, "next") if route == "branches" else None


BADNESS: dict[str, Bad] = {
    "html": lambda route: Reply(200, "<html><title>Maintenance</title></html>"),
    "truncated json": lambda route: Reply(
        200, healthy_text(route)[:-3], {"Content-Type": "application/json"}
    ),
    "empty body": lambda route: Reply(200, b"", {"Content-Type": "application/json"}),
    "null": lambda route: raw_json(200, "null"),
    "string": lambda route: Reply(200, "just text"),
    "object for list": lambda route: Reply(200, {"items": {"id": "x"}}),
    "list for object": lambda route: Reply(200, [1, 2, 3]),
    "nulls inside": lambda route: Reply(200, edited(route, id=None, name=None)),
    "unknown enums": lambda route: Reply(
        200, edited(route, current_state="frozen-2099", provisioner="q", plan="galactic")
    ),
    "odd timestamps": lambda route: Reply(200, edited(route, created_at="0000-00-00T99:99")),
    "naive timestamps": lambda route: Reply(200, edited(route, created_at="2026-01-01T00:00")),
    "odd ids": lambda route: Reply(200, edited(route, id="../" + "X" * 100_000)),
    "lone surrogates": lambda route: Reply(200, edited(route, name="a\ud800b", x="\udfff")),
    "NaN": lambda route: raw_json(200, '{"x": [NaN, Infinity, -Infinity]}'),
    "huge number": lambda route: raw_json(200, '{"x": ' + "7" * 5000 + "}"),
    "1e999": lambda route: raw_json(200, '{"x": 1e999}'),
    "deep nesting": lambda route: Reply(200, nested(50_000), {"Content-Type": "application/json"}),
    "duplicates": lambda route: Reply(200, edited(route) if route == "project" else _twice(route)),
    "looping cursors": looping,
    "endless listing": endless,
    "gzip bomb": lambda route: gzipped(200, gzip_bomb()),
    "403": lambda route: Reply(403, {"code": "", "message": "forbidden"}),
    "404": lambda route: Reply(404, {"code": "", "message": "not found"}),
    "500 forever": lambda route: Reply(500, {"code": "", "message": "oops"}),
    "429 forever": lambda route: Reply(429, {"code": "", "message": "slow down"}),
    "429 forever, Retry-After": lambda route: Reply(
        429, {"code": "", "message": "slow down"}, {"Retry-After": "86400"}
    ),
    "redirect": lambda route: Reply(302, b"", {"Location": "http://169.254.169.254/"}),
    "echo in error": lambda route: echoing(
        500, {"message": "bad key {token}", "code": "{token}", "request_id": "{token}"}
    ),
    "echo in html": lambda route: echoing(502, "<html>" + "x" * 160 + "{token}</html>"),
    "echo in 400": lambda route: echoing(400, {"message": "x" * 290 + "{token}"}),
    "echo in body": lambda route: echoing(200, edited(route, name="{token}")),
    "echo in header": lambda route: echoing(
        200, "<p>{token}</p>", {"Content-Type": "text/{token}", "X-Echo": "{token}"}
    ),
}
# At 0.2 s a byte, every healthy body takes over 10 s: far past the 2 s deadline.
SLOW: dict[str, Bad] = {
    "trickled body": lambda route: trickled(healthy_text(route), 0.2),
    "stalled": lambda route: stalled(60.0),
}
SLOW_TIMEOUT_SECONDS = 2.0


def _twice(route: str) -> Any:
    body = copy.deepcopy(HEALTHY[route])
    if isinstance(body, list):
        return body + body
    for key, value in body.items():
        if isinstance(value, list):
            body[key] = value + value
    return body


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with hostile_server() as scripted:
        yield scripted


async def hostile_sweep(
    server: ScriptedServer, route: str, timeout_seconds: float = 10.0
) -> Snapshot:
    """A sweep with few attempts and tiny backoff; the timeout is met only by slow answers."""
    org_ids = [ORG_ID] if route == "organization" else None
    async with fast_client(
        server.base_url,
        HOSTILE_KEY,
        max_attempts=MAX_ATTEMPTS,
        timeout_seconds=timeout_seconds,
        backoff_cap_seconds=0.01,
        max_listing_items=3000,
    ) as client:
        return await sweep(client, org_ids=org_ids)


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY_PREFIX not in text


def assert_survived(snapshot: Snapshot, route: str, server: ScriptedServer) -> None:
    kinds = {part.kind for part in snapshot.incomplete}
    assert kinds <= PARTS[route], snapshot.incomplete
    assert len(server.received) <= 30  # bounded: no listing paged on, no retry loop
    document = json.dumps(snapshot.to_json(), default=str, ensure_ascii=False)
    assert_no_key(document, repr(snapshot))
    document.encode()  # what the store and a terminal do with it
    for resources in (snapshot.projects, snapshot.branches, snapshot.endpoints):
        ids = [resource.id for resource in resources]
        assert len(ids) == len(set(ids))
    keys = [record.key.id for record in snapshot.api_keys]
    assert len(keys) == len(set(keys))


def cases(badness: dict[str, Bad], routes: list[str]) -> list[Any]:
    return [
        pytest.param(name, route, id=f"{name}@{route}")
        for name, make in badness.items()
        for route in routes
        if make(route) is not None
    ]


@pytest.mark.anyio
@pytest.mark.parametrize(("badness", "route"), cases(BADNESS, list(ROUTES)))
async def test_a_bad_answer_leaves_at_most_its_part_incomplete_and_never_the_key(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture, badness: str, route: str
) -> None:
    serve_account(server, {route: BADNESS[badness](route)})
    caplog.set_level(logging.DEBUG)

    snapshot = await hostile_sweep(server, route)

    assert_survived(snapshot, route, server)
    assert_no_key(caplog.text, *(record.getMessage() for record in caplog.records))


@pytest.mark.anyio
@pytest.mark.parametrize(("badness", "route"), cases(SLOW, ["projects", "branches"]))
async def test_a_slow_answer_times_out_within_the_attempts_and_leaves_its_part_incomplete(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture, badness: str, route: str
) -> None:
    serve_account(server, {route: SLOW[badness](route)})
    caplog.set_level(logging.DEBUG)

    snapshot = await hostile_sweep(server, route, SLOW_TIMEOUT_SECONDS)

    (part,) = snapshot.incomplete
    assert part.kind in PARTS[route]
    assert "ReadTimeout" in part.reason
    assert f"after {MAX_ATTEMPTS} attempts" in part.reason
    assert_survived(snapshot, route, server)
    assert_no_key(caplog.text)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "route", ["organizations", "projects", "branches", "endpoints", "org_keys"]
)
async def test_a_refused_key_is_the_only_error_that_ends_the_sweep_and_it_hides_the_key(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture, route: str
) -> None:
    refused = echoing(401, {"message": "key {token} is revoked", "request_id": "{token}"})
    serve_account(server, {route: refused})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(NeonAuthError) as caught:
        await hostile_sweep(server, route)

    assert caught.value.status == 401
    assert_no_key(str(caught.value), repr(caught.value), caught.value.request_id, caplog.text)


@pytest.mark.anyio
async def test_a_healthy_hostile_server_sweeps_complete(server: ScriptedServer) -> None:
    snapshot = await hostile_sweep(server, "projects")

    assert snapshot.complete, snapshot.incomplete
    assert [project.id for project in snapshot.projects] == [PROJECT["id"]]
    assert len(snapshot.branches) == 2
    assert snapshot.key_scope == "personal"
