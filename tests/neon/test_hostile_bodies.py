"""Bodies no client should trust: gzip bombs, JSON Python accepts but JSON does not, deep
nesting, odd shapes and charsets (issue: hostile input, never a traceback)."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from governor.neon.body import MAX_BODY_BYTES, MAX_JSON_DEPTH
from governor.neon.errors import (
    NeonApiError,
    NeonNotFound,
    NeonProtocolError,
    NeonServerError,
)
from tests.hostile.hostile_server import gzip_bomb, gzipped, nested, raw_json
from tests.neon.helpers import fast_client
from tests.neon.scripted_server import Reply, ScriptedServer, scripted_server

PROJECT_ID = "wispy-bird-12345678"
PROJECT_PATH = f"/projects/{PROJECT_ID}"
MiB = 1 << 20


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as scripted:
        yield scripted


def assert_names_the_request(error: NeonApiError, server: ScriptedServer, path: str) -> None:
    sent = server.requests_to("GET", path)[-1]
    assert f"GET {path}" in str(error)
    assert sent.headers["X-Request-ID"] in str(error)


@pytest.mark.anyio
async def test_a_gzip_bomb_is_refused_without_inflating_it(server: ScriptedServer) -> None:
    server.script("GET", PROJECT_PATH, [gzipped(200, gzip_bomb())])

    tracemalloc.start()
    try:
        async with fast_client(server.base_url) as client:
            with pytest.raises(NeonProtocolError, match="larger than 64 MiB") as caught:
                await client.get_project(PROJECT_ID)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < MAX_BODY_BYTES + 64 * MiB  # never the whole GiB
    assert_names_the_request(caught.value, server, PROJECT_PATH)
    assert len(server.received) == 1


@pytest.mark.anyio
async def test_a_gzip_bomb_in_an_error_answer_is_cut_and_the_status_kept(
    server: ScriptedServer,
) -> None:
    server.script("GET", PROJECT_PATH, [gzipped(503, gzip_bomb())])

    async with fast_client(server.base_url, max_attempts=2) as client:
        with pytest.raises(NeonServerError) as caught:
            await client.get_project(PROJECT_ID)

    assert caught.value.status == 503
    assert caught.value.attempts == 2
    assert len(str(caught.value)) < 1000


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (gzipped(200, gzip_bomb(4 * MiB)[:-100]), "compressed body ends early"),
        (gzipped(200, b"not gzip at all"), "cannot be decompressed"),
        (
            Reply(200, b"{}", {"Content-Type": "application/json", "Content-Encoding": "zz"}),
            "Content-Encoding",
        ),
    ],
)
async def test_a_body_that_cannot_be_decompressed_is_a_protocol_error(
    server: ScriptedServer, reply: Reply, says: str
) -> None:
    server.script("GET", PROJECT_PATH, [reply])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match=says) as caught:
            await client.get_project(PROJECT_ID)

    assert_names_the_request(caught.value, server, PROJECT_PATH)


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),  # what some servers send as deflate
        ("identity", lambda data: data),
        ("gzip, identity", gzip.compress),
    ],
)
async def test_a_compressed_answer_within_the_cap_is_read(
    server: ScriptedServer, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    body = compress(b'{"project": {"id": "wispy-bird-12345678", "name": "shop"}}')
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    server.script("GET", PROJECT_PATH, [Reply(200, body, headers)])

    async with fast_client(server.base_url) as client:
        project = await client.get_project(PROJECT_ID)

    assert project.name == "shop"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"project": {"id": "p", "name": "x", "pg_version": NaN}}', "NaN"),
        ('{"project": {"id": "p", "name": "x", "pg_version": Infinity}}', "Infinity"),
        ('{"project": {"id": "p", "name": "x", "pg_version": -Infinity}}', "-Infinity"),
        ('{"project": {"id": "p", "name": "x", "synthetic_storage_size": 1e999}}', "1e999"),
        ('{"project": {"id": "p", "name": "x", "pg_version": ' + "9" * 5000 + "}}", "digits"),
        (nested(100_000).decode(), "nests deeper than"),
        (nested(MAX_JSON_DEPTH + 1).decode(), "nests deeper than"),
        ('{"project": {"id": "p", "name": ', "expected a JSON body"),
        ("<html><title>maintenance</title></html>", "expected a JSON body"),
    ],
)
async def test_a_body_json_does_not_allow_is_a_protocol_error_naming_the_request(
    server: ScriptedServer, text: str, says: str
) -> None:
    server.script("GET", PROJECT_PATH, [raw_json(200, text)])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match=says) as caught:
            await client.get_project(PROJECT_ID)

    assert_names_the_request(caught.value, server, PROJECT_PATH)
    assert len(str(caught.value)) < 1000


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body", [nested(100_000), b'{"message": NaN}', b'{"message": "' + b"9" * 5000 + b'"}']
)
async def test_an_error_body_json_does_not_allow_keeps_the_status(
    server: ScriptedServer, body: bytes
) -> None:
    server.script("GET", PROJECT_PATH, [Reply(404, body, {"Content-Type": "application/json"})])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonNotFound) as caught:
            await client.get_project(PROJECT_ID)

    assert len(str(caught.value)) < 1000


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"projects": None}, "'projects' is null, not an array"),
        ({"projects": [None]}, "projects[0]: expected an object, got null"),
        ({"projects": [{"id": None, "name": "x"}]}, "projects[0]: id:"),
        ({"projects": [{"id": "p", "name": "x", "created_at": "soon"}]}, "created_at"),
        (
            {"projects": [{"id": "p", "name": "x", "created_at": "10000-01-01T00:00:00Z"}]},
            "created_at",
        ),
        ({"projects": [], "unavailable_project_ids": "p"}, "not a list of ids"),
        ({"projects": [], "unavailable_project_ids": [None]}, "not a list of ids"),
    ],
)
async def test_nulls_and_odd_values_in_a_listing_are_protocol_errors_that_say_where(
    server: ScriptedServer, body: dict[str, Any], says: str
) -> None:
    server.script("GET", "/projects", [Reply(200, body)])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError) as caught:
            [project async for project in client.iter_projects()]

    assert says in str(caught.value)


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity", "1e999"])
async def test_a_number_given_as_a_string_that_is_not_finite_is_a_protocol_error(
    server: ScriptedServer, value: str
) -> None:
    endpoint = {
        "id": "ep-old-sun-123456",
        "project_id": PROJECT_ID,
        "branch_id": "br-cool-dew-123456",
        "autoscaling_limit_min_cu": value,
        "autoscaling_limit_max_cu": 2,
    }
    server.script("GET", f"{PROJECT_PATH}/endpoints", [Reply(200, {"endpoints": [endpoint]})])

    async with fast_client(server.base_url) as client:
        with pytest.raises(NeonProtocolError, match="autoscaling_limit_min_cu"):
            await client.list_endpoints(PROJECT_ID)


@pytest.mark.anyio
async def test_lone_surrogates_in_a_body_are_replaced_so_nothing_later_fails_to_encode(
    server: ScriptedServer,
) -> None:
    text = '{"project": {"id": "wispy-bird-12345678", "name": "a\\ud800b", "x\\udfff": 1}}'
    server.script("GET", PROJECT_PATH, [raw_json(200, text)])

    async with fast_client(server.base_url) as client:
        project = await client.get_project(PROJECT_ID)

    assert project.name == "a\ufffdb"
    assert project.raw["x\ufffd"] == 1
    project.name.encode()  # the store and terminals encode as UTF-8


@pytest.mark.anyio
async def test_unknown_enum_values_and_extra_fields_are_accepted_as_they_are(
    server: ScriptedServer,
) -> None:
    project = {
        "id": PROJECT_ID,
        "name": "shop",
        "provisioner": "quantum-2099",
        "created_at": "2026-01-01T00:00:00",
        "new_field": {"deep": [1, 2, {"x": None}]},
    }
    server.script("GET", PROJECT_PATH, [Reply(200, {"project": project})])

    async with fast_client(server.base_url) as client:
        found = await client.get_project(PROJECT_ID)

    assert found.provisioner == "quantum-2099"
    assert found.raw == project


@pytest.mark.anyio
@pytest.mark.parametrize("status", [200, 500])
@pytest.mark.parametrize("charset", ["idna", "undefined", "zlib_codec", "no-such-charset"])
async def test_a_body_in_a_charset_python_cannot_decode_is_still_shown(
    server: ScriptedServer, status: int, charset: str
) -> None:
    page = b"<html>down \xff for maintenance</html>"
    headers = {"Content-Type": f"text/html; charset={charset}"}
    server.script("GET", PROJECT_PATH, [Reply(status, page, headers)])

    async with fast_client(server.base_url, max_attempts=1) as client:
        with pytest.raises(NeonApiError, match="for maintenance") as caught:
            await client.get_project(PROJECT_ID)

    assert caught.value.status == status
