"""Webhook, email and Teams wired in: the runtime builds them when configured, one-shot
commands deliver before they exit, the daemon runs the sender as a job with outbox gauges."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from governor.channels import EmailChannel, TeamsChannel, WebhookChannel, verify_signature
from governor.daemon.delivery_jobs import DeliveryJob, delivery_jobs
from governor.daemon.jobs import JobContext
from governor.notify import LogChannel
from governor.observability.metrics import Metrics
from governor.runtime import Runtime
from governor.simulator import Simulator, World
from governor.store import deliveries
from tests.channels.documents import digest
from tests.channels.harness import (
    SECRET,
    WallClock,
    config,
    http_receiver,
    opened_store,
    smtp_server,
)

ServedSimulator = Callable[..., tuple[Simulator, str]]


@contextmanager
def threaded_receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A plain HTTP receiver in its own thread, for commands that run their own loop."""
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.append((dict(self.headers), self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            _ = args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def write_config(tmp_path: Path, extra: str, *, policy: str = "") -> Path:
    path = tmp_path / "governor.toml"
    text = f'[store]\npath = "{tmp_path / "governor.db"}"\n'
    if policy:
        text += f'[policies]\npaths = ["{policy}"]\n[remediation]\nenabled = true\n'
    path.write_text(text + extra)
    return path


def test_audit_delivers_its_signed_report_to_the_webhook_before_it_exits(
    tmp_path: Path, served_simulator: ServedSimulator
) -> None:
    from governor.cli import app
    from tests.remediate.world import PERSONAL_TOKEN, world_data

    _, base_url = served_simulator(World.from_dict(world_data()))
    with threaded_receiver() as (url, received):
        path = write_config(
            tmp_path,
            f'[[webhooks]]\nname = "tickets"\nurl = "{url}"\nsecret_env = "HOOK_SECRET"\n',
        )
        result = CliRunner().invoke(
            app,
            ["audit", "--config", str(path), "--format", "json"],
            env={"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN, "HOOK_SECRET": SECRET},
        )
        assert result.exit_code in (0, 1), result.stderr
    [(headers, body)] = received
    assert verify_signature(
        SECRET,
        headers["X-Neon-Governor-Timestamp"],
        body,
        headers["X-Neon-Governor-Signature"],
        now=float(headers["X-Neon-Governor-Timestamp"]),
    )
    document = json.loads(body)
    assert document["type"] == "report"
    assert document["data"]["counts"]["findings"] == len(json.loads(result.stdout)["findings"])


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_apply_emails_its_notices_before_any_grace_starts(
    tmp_path: Path, served_simulator: ServedSimulator
) -> None:
    from governor.cli import app
    from tests.remediate.world import PERSONAL_TOKEN, world_data

    _, base_url = served_simulator(World.from_dict(world_data()))
    policies = tmp_path / "policies"
    policies.mkdir()
    source = Path("policies/never-suspending-computes.yaml").read_text()
    (policies / "p.yaml").write_text(
        source.replace("  mode: report", '  mode: auto\n  grace: "1d"')
    )
    with smtp_server() as (mailbox, port):
        path = write_config(
            tmp_path,
            f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'sender = "gov@example.org"\nnotices_to = ["ops@example.com"]\n',
            policy=str(policies),
        )
        result = CliRunner().invoke(
            app,
            ["apply", "--yes", "--config", str(path)],
            env={"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN},
        )
        assert result.exit_code == 0, result.stderr
    [(_, rcpt, message)] = mailbox.messages
    assert rcpt == ["ops@example.com"]
    assert "grace counts from now" in message["Subject"]
    with sqlite3.connect(tmp_path / "governor.db") as db:
        assert {via for (via,) in db.execute("SELECT via FROM finding_notices")} == {"email"}


@pytest.mark.anyio
async def test_the_runtime_builds_only_the_channels_the_config_sets_up(tmp_path: Path) -> None:
    async with opened_store(tmp_path) as store:
        bare = Runtime(config(), tmp_path / "governor.toml")
        assert [type(c) for c in bare.channels(None, interactive=True, store=store).channels] == [
            LogChannel
        ]
        assert bare.delivery_sender(store) is None
        assert delivery_jobs(bare) == []
        full = Runtime(
            config(
                webhooks=[{"name": "t", "url": "https://example.com/h", "secret_env": "S"}],
                email={"host": "smtp.example.com", "sender": "g@example.org"},
                teams={"webhook_env": "TEAMS_URL"},
            ),
            tmp_path / "governor.toml",
        )
        built = full.channels(None, interactive=True, store=store).channels
        assert [type(c) for c in built] == [LogChannel, WebhookChannel, EmailChannel, TeamsChannel]
        sender = full.delivery_sender(store)
        assert sender is not None
        await sender.aclose()
        assert [job.name for job in delivery_jobs(full)] == ["deliveries:outbox"]


@pytest.mark.anyio
async def test_the_daemon_job_delivers_and_sets_the_outbox_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    clock = WallClock()
    async with http_receiver() as receiver, opened_store(tmp_path) as store:
        cfg = config(
            webhooks=[
                {"name": "t", "url": receiver.url, "secret_env": "HOOK_SECRET",
                 "events": ["digest"]},
            ],
        )  # fmt: skip
        runtime = Runtime(cfg, tmp_path / "governor.toml", clock=clock)
        metrics = Metrics()
        await WebhookChannel(cfg, store, clock).digest(digest("data"))
        # one that will never go: its webhook is gone from the config
        await store.run(
            deliveries.enqueue,
            channel="webhook",
            destination="gone",
            kind="digest",
            payload={},
            now=clock(),
        )
        context = JobContext(runtime, [], store, [], metrics)
        job = asyncio.create_task(DeliveryJob().run(context))
        for _ in range(500):  # bounded: the job's first pass sends at once
            sample = metrics.sample("neon_governor_outbox_pending", {"channel": "webhook"})
            if receiver.received and sample == 1.0:
                break
            await asyncio.sleep(0.01)
        context.stopping.set()
        assert (await job).detail == "stopped"
        assert len(receiver.received) == 1
        assert metrics.sample("neon_governor_outbox_pending", {"channel": "webhook"}) == 1.0
        assert metrics.sample("neon_governor_outbox_failed", {"channel": "email"}) == 0.0


def test_the_digest_command_emails_an_owner_without_slack_configured(
    tmp_path: Path, served_simulator: ServedSimulator
) -> None:
    from governor.cli import app
    from tests.remediate.world import PERSONAL_TOKEN, world_data

    _, base_url = served_simulator(World.from_dict(world_data()))
    env = {"NEON_API_URL": base_url, "NEON_API_KEY": PERSONAL_TOKEN}
    with smtp_server() as (mailbox, port):
        path = write_config(
            tmp_path,
            f'[email]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
            'sender = "gov@example.org"\n[owners]\ndefault = "data"\n'
            '[[owners.owner]]\nname = "data"\nemails = ["data-team@example.com"]\n',
        )
        audited = CliRunner().invoke(app, ["audit", "--config", str(path)], env=env)
        assert audited.exit_code in (0, 1), audited.stderr
        result = CliRunner().invoke(app, ["digest", "--config", str(path)], env=env)
        assert result.exit_code == 0, result.stderr
    [(_, rcpt, message)] = mailbox.messages
    assert rcpt == ["data-team@example.com"]
    assert message["Subject"].startswith("Neon digest for data")
