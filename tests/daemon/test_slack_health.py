"""A Slack bot token Slack refuses is a health problem, not one log line: ``/healthz``
says so, and ``status`` shows the outbox that could not be delivered."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.daemon.daemon import Daemon
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import REPORTS
from governor.runtime import Runtime
from governor.simulator import World
from governor.store import Store
from governor.store import slack as slack_table
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.daemon.conftest import SIM_KEY, free_loopback_port, write_config
from tests.fake_slack.fixtures import fake_slack
from tests.slack.harness import eventually

__all__ = ["fake_slack"]
pytestmark = pytest.mark.anyio


async def test_a_refused_slack_token_makes_healthz_unhealthy_and_status_shows_the_outbox(
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    served_simulator: Callable[..., ServedSimulator],
) -> None:
    _, url = served_simulator(World.generate(seed=3, orgs=1, projects=2, branches=4, now=WORLD_NOW))
    port = free_loopback_port()
    config = write_config(
        tmp_path,
        url,
        metrics_listen=f"127.0.0.1:{port}",
        extra=f'[slack]\nchannel = "{REPORTS.id}"\napi_url = "{fake_slack.base_url}"\n',
    )
    monkeypatch.setenv("DAEMON_TEST_KEY", SIM_KEY)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked-or-wrong")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    daemon = Daemon(Runtime.load(config))
    task = asyncio.create_task(daemon.run())
    try:
        async with httpx.AsyncClient(timeout=10) as client:

            async def unhealthy() -> httpx.Response | None:
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/healthz")
                except httpx.ConnectError:  # not listening yet
                    return None
                return response if response.status_code == 503 else None

            response = await eventually(unhealthy, what="/healthz to report Slack")
        assert response.text == "slack: Slack refused the bot token: invalid_auth\n"

        async def refused_report() -> bool:
            with Store.open(tmp_path / "governor.db") as store:
                return any(m.state == "failed" for m in store.call(slack_table.outbox))

        await eventually(refused_report, what="the report refused by Slack", deadline=60)
    finally:
        daemon.stop.set()
        await asyncio.wait_for(task, timeout=60)

    result = CliRunner().invoke(
        app, ["status", "--config", str(config)], env={"DAEMON_TEST_KEY": SIM_KEY}
    )
    assert result.exit_code == 0, result.stderr
    (slack,) = [row for row in result.stdout.splitlines() if row.startswith("slack ")]
    assert re.search(r"outbox \d+ pending, [1-9]\d* failed, 0 sent", slack), slack
    assert "last error: invalid_auth" in slack
    assert "xoxb-revoked-or-wrong" not in result.stdout
