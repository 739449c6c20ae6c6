"""The request log tests read: in process, over ``GET /_simulator/requests``, and as
flushed JSON lines from ``simulate --request-log`` that survive a SIGKILLed client."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from governor.simulator import Simulator, World
from tests.simulator.conftest import NO_LIMITS, Api, FakeClock
from tests.simulator.processes import simulate
from tests.simulator.worlds import (
    ORG_TOKEN,
    OTHER_ORG_TOKEN,
    PERSONAL_TOKEN,
    PROJECT_TOKEN,
    TINY_PROJECT_ID,
    tiny_world_data,
)

TINY = f"/projects/{TINY_PROJECT_ID}"
TOKENS = (PERSONAL_TOKEN, ORG_TOKEN, OTHER_ORG_TOKEN, PROJECT_TOKEN)
CHANGE = {"endpoint": {"suspend_timeout_seconds": 300}}


def send_a_few(api: Api) -> None:
    api.get(f"{TINY}/branches", limit=2, sort_by="name")
    api.call("PATCH", f"{TINY}/endpoints/ep-preview-1", ORG_TOKEN, json=CHANGE)
    api.call("DELETE", "/api_keys/1001")
    api.get(TINY, "not-a-known-token")


def test_every_answered_request_is_logged_with_query_and_mutation_body_but_no_key(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api()
    send_a_few(api)
    logged = api.simulator.logged_requests()
    assert [(item["method"], item["path"], item["status"]) for item in logged] == [
        ("GET", f"/api/v2{TINY}/branches?limit=2&sort_by=name", 200),
        ("PATCH", f"/api/v2{TINY}/endpoints/ep-preview-1", 200),
        ("DELETE", "/api/v2/api_keys/1001", 200),
        ("GET", f"/api/v2{TINY}", 401),
    ]
    assert [item["body"] for item in logged] == [None, CHANGE, None, None]
    keys = [item["key"] for item in logged]
    assert keys == ["personal", "org:org-tiny-11111111", "personal", "unknown"]
    assert logged[1]["route"] == "PATCH /projects/{project_id}/endpoints/{endpoint_id}"
    assert logged[0]["time"] == "2026-11-27T12:00:00.000Z"
    assert all(item["request_id"] for item in logged)
    assert api.simulator.logged_requests(since=3) == logged[3:]
    text = json.dumps(logged)
    assert not any(token in text for token in TOKENS)
    assert "not-a-known-token" not in text
    assert "Bearer" not in text


def test_a_body_that_is_not_json_is_logged_as_text() -> None:
    clock = FakeClock()
    simulator = Simulator(World.from_dict(tiny_world_data()), NO_LIMITS, clock=clock, now=clock.now)
    headers = {"Authorization": f"Bearer {PERSONAL_TOKEN}"}
    simulator.handle("PATCH", f"{TINY}/branches/br-dev-1", {}, headers, b"not json")
    (record,) = simulator.request_log
    assert (record.status, record.body) == (400, "not json")


def test_the_log_is_served_over_http_without_logging_its_own_reads(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api()
    send_a_few(api)
    served = api.http.get("/_simulator/requests").json()  # under the /api/v2 base URL
    assert served["requests"] == api.simulator.logged_requests()
    assert served["next"] == 4
    root = api.base_url.removesuffix("/api/v2")
    later = httpx.get(f"{root}/_simulator/requests", params={"since": 3}, timeout=10.0).json()
    assert later == {"requests": served["requests"][3:], "next": 4}
    assert len(api.simulator.request_log) == 4
    assert api.http.get("/_simulator/requests", params={"since": "x"}).status_code == 400
    assert api.http.post("/_simulator/requests").status_code == 405
    assert api.http.get("/_simulator/nothing-here").status_code == 404


# Sends a read and a PATCH, then SIGKILLs itself: nothing of it can flush anything later.
CLIENT = textwrap.dedent(
    """
    import json, os, signal, sys
    import httpx
    base, token, project, change = sys.argv[1:]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10.0) as client:
        client.get(f"/projects/{project}/endpoints")
        client.patch(f"/projects/{project}/endpoints/ep-preview-1", json=json.loads(change))
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_request_log_file_has_every_request_even_after_the_client_is_killed(
    tmp_path: Path,
) -> None:
    world = tmp_path / "world.json"
    world.write_text(json.dumps(tiny_world_data()), encoding="utf-8")
    log = tmp_path / "requests.jsonl"
    flags = ("--world", str(world), "--request-log", str(log), "--op-seconds", "0.05")
    with simulate(*flags) as (server, base_url):
        arguments = [base_url, PERSONAL_TOKEN, TINY_PROJECT_ID, json.dumps(CHANGE)]
        client = subprocess.run(
            [sys.executable, "-c", CLIENT, *arguments],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert client.returncode == -signal.SIGKILL, client.stderr
        while_serving = lines_of(log)
        server.kill()
        server.wait(timeout=10)
    assert [(line["method"], line["status"]) for line in while_serving] == [
        ("GET", 200),
        ("PATCH", 200),
    ]
    assert while_serving[1]["body"] == CHANGE
    assert lines_of(log) == while_serving
    assert PERSONAL_TOKEN not in log.read_text(encoding="utf-8")
