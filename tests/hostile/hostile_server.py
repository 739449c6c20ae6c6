"""A hostile Neon on loopback: a small healthy account, and bad answers to put on any route.

Built on ``tests/neon/scripted_server.py`` (a real HTTP server in a thread, replies
scripted per route, every request recorded); this module adds what the hostile-input
tests serve: the account (``serve_account``), and builders of bad answers: echoed
tokens, looping and endless listings, trickled and stalled bodies, gzip bombs, deep
nesting, NaN and huge numbers.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import count
from typing import Any

from tests.neon.scripted_server import Received, Reply, Responder, ScriptedServer, scripted_server

HOSTILE_KEY = "napi_HOSTILE_5f2a9c7e1b3d4a6f8e0c2b4d6f8a0c2e4b6d"
TOKEN = "{token}"  # in a body template: replaced by the bearer token the client sent

ORG_ID = "org-hostile-12345678"
PROJECT_ID = "hostile-bird-12345678"
ORGANIZATION = {"id": ORG_ID, "name": "Hostile", "plan": "launch"}
PROJECT = {"id": PROJECT_ID, "name": "shop", "org_id": ORG_ID, "created_at": "2026-01-01T00:00:00Z"}
BRANCH = {
    "id": "br-main-12345678",
    "project_id": PROJECT_ID,
    "name": "main",
    "default": True,
    "created_at": "2026-01-01T00:00:00Z",
}
PREVIEW = {**BRANCH, "id": "br-preview-12345678", "name": "preview/pr-1", "default": False}
ENDPOINT = {
    "id": "ep-main-12345678",
    "project_id": PROJECT_ID,
    "branch_id": BRANCH["id"],
    "autoscaling_limit_min_cu": 0.25,
    "autoscaling_limit_max_cu": 1,
    "suspend_timeout_seconds": 0,
}
PERSONAL_KEY = {"id": 101, "name": "laptop", "created_at": "2026-01-01T00:00:00Z"}
ORG_KEY = {"id": 202, "name": "ci", "created_at": "2026-01-01T00:00:00Z"}

ROUTES = {
    "organizations": "/users/me/organizations",
    "organization": f"/organizations/{ORG_ID}",
    "projects": "/projects",
    "project": f"/projects/{PROJECT_ID}",
    "branches": f"/projects/{PROJECT_ID}/branches",
    "endpoints": f"/projects/{PROJECT_ID}/endpoints",
    "personal_keys": "/api_keys",
    "org_keys": f"/organizations/{ORG_ID}/api_keys",
}
HEALTHY: dict[str, Any] = {
    "organizations": {"organizations": [ORGANIZATION]},
    "organization": ORGANIZATION,
    "projects": {"projects": [PROJECT], "pagination": {"cursor": PROJECT_ID}},
    "project": {"project": PROJECT},
    "branches": {"branches": [BRANCH, PREVIEW]},
    "endpoints": {"endpoints": [ENDPOINT]},
    "personal_keys": [PERSONAL_KEY],
    "org_keys": [ORG_KEY],
}


@contextmanager
def hostile_server() -> Iterator[ScriptedServer]:
    """A scripted server already serving the healthy account."""
    with scripted_server() as server:
        serve_account(server)
        yield server


def serve_account(
    server: ScriptedServer,
    bad: Mapping[str, Reply | Responder | None] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> None:
    """Every route of the account answers well (with ``headers``), except those in ``bad``."""
    for name, path in ROUTES.items():
        reply = (bad or {}).get(name) or Reply(200, HEALTHY[name], headers or {})
        server.script("GET", path, [reply])


# -- bad answers ---------------------------------------------------------------------------


def echoing(status: int, template: Any, headers: dict[str, str] | None = None) -> Responder:
    """``template`` (JSON-able or text) and ``headers`` with every ``{token}`` replaced by
    the key the caller sent."""
    text = template if isinstance(template, str) else json.dumps(template)

    def reply(received: Received) -> Reply:
        body = text.replace(TOKEN, received.token)
        content_type = "text/html" if body.lstrip().startswith("<") else "application/json"
        extra = {
            name: value.replace(TOKEN, received.token) for name, value in (headers or {}).items()
        }
        return Reply(status, body.encode(), {"Content-Type": content_type, **extra})

    return reply


def looping_pages(field: str, page: list[dict[str, Any]], cursor_key: str) -> Responder:
    """The same full page every time, each with a cursor never given before."""
    cursors = count()

    def reply(received: Received) -> Reply:
        return Reply(200, {field: page, "pagination": {cursor_key: f"c{next(cursors)}"}})

    return reply


def endless_pages(field: str, item: dict[str, Any], size: int, cursor_key: str) -> Responder:
    """Full pages of objects never seen before, each with a fresh cursor: a listing that
    never ends. ``item``'s id gets a running suffix."""
    numbers = count()

    def reply(received: Received) -> Reply:
        items = [{**item, "id": f"{item['id']}-{next(numbers)}"} for _ in range(size)]
        return Reply(200, {field: items, "pagination": {cursor_key: f"c{next(numbers)}"}})

    return reply


def trickled(body: bytes, seconds_per_byte: float = 0.2) -> Reply:
    """A valid-looking answer whose body arrives one byte every ``seconds_per_byte``."""
    return Reply(200, body, {"Content-Type": "application/json"}, trickle_seconds=seconds_per_byte)


def stalled(seconds: float = 60.0) -> Reply:
    """A connection accepted and then left silent (until the server closes)."""
    return Reply(200, {}, delay_seconds=seconds)


@functools.cache
def gzip_bomb(inflated_bytes: int = 1 << 30) -> bytes:
    """About 1 MiB of gzip that inflates to ``inflated_bytes`` of zeros (default 1 GiB).

    Built without compressing the whole: after a full flush, deflate forgets its history,
    so each further MiB of zeros compresses to the same bytes.
    """
    block = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    head = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    unit = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks = inflated_bytes // len(block)
    crc = zlib.crc32(block)
    for _ in range(blocks - 1):
        crc = zlib.crc32(block, crc)
    tail = compressor.flush(zlib.Z_FINISH)[:-8]  # the final block, then our own trailer
    trailer = crc.to_bytes(4, "little") + (blocks * len(block) % (1 << 32)).to_bytes(4, "little")
    return head + unit * (blocks - 1) + tail + trailer


def gzipped(status: int, body: bytes) -> Reply:
    return Reply(status, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})


def nested(depth: int) -> bytes:
    """A JSON array nested ``depth`` levels deep."""
    return b"[" * depth + b"]" * depth


def raw_json(status: int, text: str) -> Reply:
    """``text`` served as JSON, exactly as written (NaN, 1e999, 5000-digit numbers...)."""
    return Reply(status, text.encode(), {"Content-Type": "application/json"})
