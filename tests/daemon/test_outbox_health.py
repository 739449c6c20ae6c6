"""The Slack outbox's health where an operator looks: ``/healthz`` fails once a message has
waited 15 minutes, the metrics carry pending/failed/oldest age, ``status`` shows them.

Before, an outbox that Slack never took (a channel the bot left, Slack down for an hour)
was one log line per message while ``/healthz`` stayed 200 and ``status`` said nothing of
how long anything had waited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.daemon.health import Health
from governor.daemon.slack_health import outbox_health
from governor.observability.metrics import Metrics
from governor.store import Store
from governor.store import slack as slack_table

pytestmark = pytest.mark.anyio
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class SteppingClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _gauge(metrics: Metrics, name: str) -> float | None:
    return metrics.sample(f"neon_governor_outbox_{name}", {"channel": "slack"})


async def test_an_outbox_message_waiting_15_minutes_fails_healthz_and_shows_in_metrics(
    tmp_path: Path,
) -> None:
    clock = SteppingClock(START)
    health = Health(
        max_sweep_age=timedelta(hours=2),
        started_at=START,
        clock=clock,
        scheduler_running=lambda: True,
        last_complete=START,
    )
    metrics = Metrics()
    with Store.open(tmp_path / "governor.db") as store:
        waiting = await store.run(
            slack_table.enqueue, kind="post", channel="C1", payload={"text": "x"}, now=START
        )
        refused = await store.run(
            slack_table.enqueue, kind="post", channel="C2", payload={"text": "y"}, now=START
        )
        await store.run(
            slack_table.retry_later, refused, error="is_archived", at=START, give_up=True
        )

        clock.now = START + timedelta(minutes=5)
        await outbox_health(store, health, metrics)
        assert health() == (True, f"last complete sweep finished at {START.isoformat()}")
        assert _gauge(metrics, "oldest_pending_age_seconds") == 300.0

        clock.now = START + timedelta(minutes=16)  # /healthz reads the age at its own time
        healthy, why = health()
        assert not healthy
        assert why.startswith("slack: the oldest outbox message has waited since 2026-03-02T09")
        await outbox_health(store, health, metrics)
        assert _gauge(metrics, "pending") == 1.0
        assert _gauge(metrics, "failed") == 1.0
        assert _gauge(metrics, "oldest_pending_age_seconds") == 960.0

        await store.run(slack_table.claim, waiting, now=clock.now)
        await store.run(slack_table.sent, waiting, ts="1.1", channel="C1", now=clock.now)
        await outbox_health(store, health, metrics)
        assert health()[0]  # delivered: healthy again
        assert _gauge(metrics, "pending") == 0.0
        assert _gauge(metrics, "oldest_pending_age_seconds") == 0.0


def test_status_shows_how_long_the_oldest_outbox_message_has_waited(tmp_path: Path) -> None:
    db = tmp_path / "governor.db"
    queued = datetime.now(UTC) - timedelta(minutes=20)
    with Store.open(db) as store:
        store.call(slack_table.enqueue, kind="post", channel="C1", payload={}, now=queued)
        refused = store.call(slack_table.enqueue, kind="post", channel="C1", payload={}, now=queued)
        store.call(
            slack_table.retry_later, refused, error="not_in_channel", at=queued, give_up=True
        )
    config = tmp_path / "governor.toml"
    config.write_text('[slack]\nchannel = "C1"\n')
    env = {"NEON_API_URL": "http://127.0.0.1:9/api/v2", "NEON_API_KEY": "unused"}
    runner = CliRunner()

    as_json = runner.invoke(
        app, ["status", "--db", str(db), "--config", str(config), "--format", "json"], env=env
    )
    table = runner.invoke(app, ["status", "--db", str(db), "--config", str(config)], env=env)

    assert as_json.exit_code == 0, as_json.stderr
    slack = json.loads(as_json.stdout)["slack"]
    assert slack["outbox"]["pending"] == 1
    assert slack["outbox"]["failed"] == 1
    assert slack["oldest_pending_at"] == queued.isoformat(timespec="microseconds")
    assert 20 * 60 <= slack["oldest_pending_age_seconds"] < 30 * 60
    assert table.exit_code == 0, table.stderr
    (line,) = [row for row in table.stdout.splitlines() if row.startswith("slack ")]
    assert "outbox 1 pending, 1 failed, 0 sent; oldest pending waits 20m" in line, line
