"""``python -m governor.fake_slack``: prints where it listens, serves, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from tests.fake_slack.fixtures import PROXY_VARIABLES

REPO = Path(__file__).resolve().parents[2]
WAIT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def process() -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "governor.fake_slack", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert child.stdout is not None
    stdout = child.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        announced = json.loads(lines.get(timeout=WAIT))
        assert announced["base_url"] == f"http://127.0.0.1:{port}/api/"
        yield child, announced
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(WAIT)
        stdout.close()


def test_it_serves_the_web_api_and_its_log(
    process: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    _, announced = process
    client = WebClient(token=announced["bot_token"], base_url=announced["base_url"])
    ts = client.chat_postMessage(channel="C0REPORTS1", text="from another process")["ts"]
    with urllib.request.urlopen(f"{announced['http_root']}/_fake/log", timeout=WAIT) as answer:
        log = json.load(answer)
    assert [(m["ts"], m["text"]) for m in log["messages"]] == [(ts, "from another process")]
    assert announced["bot_token"] not in json.dumps(log)
    url = client.apps_connections_open(app_token=announced["app_token"])["url"]
    assert url.startswith(announced["socket_url"])


def test_pushing_with_no_client_is_refused(
    process: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    _, announced = process
    request = urllib.request.Request(
        f"{announced['http_root']}/_fake/push",
        data=json.dumps({"envelope_id": "e-1", "type": "interactive", "payload": {}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=WAIT)
    assert refused.value.code == 409
    refused.value.close()


def test_sigterm_stops_it_cleanly_and_frees_the_port(
    process: tuple[subprocess.Popen[str], dict[str, Any]],
) -> None:
    child, announced = process
    child.send_signal(signal.SIGTERM)
    assert child.wait(WAIT) == 0
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{announced['http_root']}/_fake/log", timeout=WAIT)
