"""The webhook, email and Teams outbox where an operator looks, as Slack's is: ``/healthz``
fails once a message has waited 15 minutes, ``status`` shows what waits and since when.

Before, a webhook that refused for an hour (or an SMTP server that was down) left
``/healthz`` at 200 and ``status`` silent: only the metrics' gauges knew."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from governor.cli import app
from governor.daemon.health import Health
from governor.store import Store, deliveries

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_an_email_waiting_15_minutes_fails_healthz_and_naming_the_channel() -> None:
    now = [START]
    health = Health(
        max_sweep_age=timedelta(hours=2),
        started_at=START,
        clock=lambda: now[0],
        scheduler_running=lambda: True,
        last_complete=START,
    )
    health.channel_outbox_checked("webhook", None)
    health.channel_outbox_checked("email", START)

    now[0] = START + timedelta(minutes=10)
    assert health()[0]
    now[0] = START + timedelta(minutes=16)
    healthy, why = health()
    assert not healthy
    assert why.startswith("email: the oldest outbox message has waited since 2026-03-02T09:00")

    health.channel_outbox_checked("email", None)  # sent: healthy again
    assert health()[0]


def test_status_shows_the_channel_outboxes_and_how_long_the_oldest_has_waited(
    tmp_path: Path,
) -> None:
    db = tmp_path / "governor.db"
    queued = datetime.now(UTC) - timedelta(minutes=20)
    with Store.open(db) as store:
        store.call(
            deliveries.enqueue,
            channel="email",
            destination="payments",
            kind="digest",
            payload={"subject": "x"},
            now=queued,
        )
    config = tmp_path / "governor.toml"
    config.write_text('[email]\nhost = "smtp.example.com"\nsender = "ng@example.com"\n')
    env = {"NEON_API_URL": "http://127.0.0.1:9/api/v2", "NEON_API_KEY": "unused"}
    runner = CliRunner()

    as_json = runner.invoke(
        app, ["status", "--db", str(db), "--config", str(config), "--format", "json"], env=env
    )
    table = runner.invoke(app, ["status", "--db", str(db), "--config", str(config)], env=env)

    assert as_json.exit_code == 0, as_json.stderr
    outboxes = json.loads(as_json.stdout)["outboxes"]["channels"]
    assert set(outboxes) == {"email"}  # webhook and Teams are not set up and hold nothing
    assert outboxes["email"]["pending"] == 1
    assert 20 * 60 <= outboxes["email"]["oldest_pending_age_seconds"] < 30 * 60
    assert table.exit_code == 0, table.stderr
    (line,) = [row for row in table.stdout.splitlines() if row.startswith("channels ")]
    assert "email 1 pending, 0 failed (oldest waits 20m" in line, line
