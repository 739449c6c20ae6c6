"""The outbox: reports with their CSV in the thread, in order, once, whatever Slack does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import APPROVALS
from governor.simulator import Simulator, World
from governor.slack.outbox import OutboxSender
from governor.store import slack as slack_table
from tests.remediate.harness import rig
from tests.slack.harness import service_for, settings_for

pytestmark = pytest.mark.anyio


async def test_each_run_posts_one_valid_report_with_the_csv_in_its_thread(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        result = await r.audit()
        await service.notifier.run_finished(result)
        assert await service.sender().flush(deadline_seconds=20)
        [report] = [m for m in fake_slack.log.messages(APPROVALS.id) if not m.is_reply]
        assert "Neon" in report.text
        [csv] = fake_slack.log.files()
        assert csv.thread_ts == report.ts
        assert csv.content is not None
        assert csv.content.decode().count("\n") >= len(result.findings)


async def test_slack_down_for_a_whole_run_loses_nothing_and_delivers_once_in_order(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        fake_slack.down()
        first, second = await r.audit(), await r.audit()
        await service.notifier.run_finished(first)
        await service.notifier.run_finished(second)
        sender = service.sender()
        assert await sender.send_due() == 0  # refused: nothing sent, nothing lost
        assert fake_slack.log.messages() == []
        fake_slack.up()
        r.clock.now += 3600  # past every backoff
        assert await sender.flush(deadline_seconds=20)
        reports = [m for m in fake_slack.log.messages(APPROVALS.id) if not m.is_reply]
        assert len(reports) == 2
        outbox = [m for m in await r.store.run(slack_table.outbox) if m.kind == "post"]
        assert [m.ref for m in outbox] == [f"run:{first.run_id}", f"run:{second.run_id}"]
        assert [m.sent_ts for m in outbox] == [m.ts for m in reports]  # in order
        assert len(fake_slack.log.files()) == 2
        assert [f.thread_ts for f in fake_slack.log.files()] == [m.ts for m in reports]
        assert await sender.send_due() == 0  # nothing twice


async def test_a_send_cut_off_before_it_was_recorded_is_found_not_posted_again(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        outbox_id = await r.store.run(
            slack_table.enqueue,
            kind="post",
            channel=APPROVALS.id,
            payload={"text": "hello"},
            now=r.now(),
        )
        sender = service.sender()
        message = await r.store.run(slack_table.message, outbox_id)
        assert await r.store.run(slack_table.claim, outbox_id, now=r.now())
        await sender._deliver(message)  # posted; then the process died before recording it
        assert await sender.send_due() == 1  # found by its metadata, recorded, not reposted
        assert [m.text for m in fake_slack.log.messages(APPROVALS.id)] == ["hello"]
        assert (await r.store.run(slack_table.message, outbox_id)).state == "sent"


async def test_a_429_waits_retry_after_and_then_sends(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:
        fake_slack.faults.rate_limit("chat.postMessage", times=5, retry_after=7)
        await r.store.run(
            slack_table.enqueue,
            kind="post",
            channel=APPROVALS.id,
            payload={"text": "later"},
            now=r.now(),
        )
        # without slack_sdk's own retry handler, to see the outbox's pacing alone
        plain = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)
        sender = OutboxSender(r.store, plain, clock=r.now, interval=0.0)
        assert await sender.send_due() == 0
        [pending] = [m for m in await r.store.run(slack_table.outbox) if m.state == "pending"]
        assert pending.next_attempt_at > (r.now() + timedelta(seconds=6)).isoformat()
        fake_slack.faults.clear()
        r.clock.now += 8
        assert await sender.send_due() == 1


async def test_a_permanent_refusal_gives_up_after_a_few_tries_without_blocking_the_channel(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        await r.store.run(
            slack_table.enqueue,
            kind="post",
            channel="C0NOSUCHONE",
            payload={"text": "lost"},
            now=r.now(),
        )
        sender = OutboxSender(r.store, service.web, clock=r.now, interval=0.0)
        for _ in range(6):
            await sender.send_due()
            r.clock.now += 3600
        [message] = await r.store.run(slack_table.outbox)
        assert message.state == "failed"
        assert message.last_error == "channel_not_found"


def test_the_one_shot_audit_posts_its_report_through_the_outbox(
    tmp_path: Path,
    fake_slack: FakeSlack,
    served_simulator: Callable[..., tuple[Simulator, str]],
) -> None:
    from typer.testing import CliRunner

    from governor.cli import app
    from tests.remediate.world import PERSONAL_TOKEN, world_data

    _, base_url = served_simulator(World.from_dict(world_data()))
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "governor.db"}"\n'
        f'[slack]\nchannel = "{APPROVALS.id}"\napi_url = "{fake_slack.base_url}"\n'
    )
    result = CliRunner().invoke(
        app,
        ["audit", "--config", str(config)],
        env={
            "NEON_API_URL": base_url,
            "NEON_API_KEY": PERSONAL_TOKEN,
            "SLACK_BOT_TOKEN": fake_slack.bot_token,
        },
    )
    assert result.exit_code == 1, result.stderr
    [report] = [m for m in fake_slack.log.messages(APPROVALS.id) if not m.is_reply]
    assert len(fake_slack.log.files()) == 1
    for written in tmp_path.glob("governor.db*"):  # the database and its WAL, if any
        assert fake_slack.bot_token.encode() not in written.read_bytes()
    assert fake_slack.bot_token not in result.stdout + result.stderr
    assert report.ts


async def test_report_only_webhook_mode_posts_the_report_without_controls_or_tokens(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    from governor.config.slack import SlackSettings
    from governor.slack.service import SlackService

    async with rig(tmp_path) as r:
        settings = SlackSettings(webhook_url=fake_slack.webhook_url)
        service = SlackService.build(settings, r.store, r.now)  # no bot token needed
        result = await r.audit()
        await service.notifier.run_finished(result)
        assert await service.sender().flush(deadline_seconds=20)
        [report] = fake_slack.log.messages()
        assert "governance report" in report.text.lower()
        assert "accessory" not in str(report.blocks)
        assert fake_slack.log.files() == []


@pytest.mark.parametrize(
    "error", ["invalid_auth", "not_in_channel", "is_archived", "invalid_blocks"]
)
async def test_a_message_waiting_on_a_refused_one_never_blocks_its_channel(
    tmp_path: Path, fake_slack: FakeSlack, error: str
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        store = r.store
        parent = await store.run(
            slack_table.enqueue,
            kind="post",
            channel=APPROVALS.id,
            payload={"text": "request"},
            now=r.now(),
        )
        update = await store.run(
            slack_table.enqueue,
            kind="update",
            channel=APPROVALS.id,
            payload={"text": "decided"},
            now=r.now(),
            parent_id=parent,
        )
        later = await store.run(
            slack_table.enqueue,
            kind="post",
            channel=APPROVALS.id,
            payload={"text": "next request"},
            now=r.now(),
        )
        fake_slack.faults.fail("chat.postMessage", error, times=None)
        sender = OutboxSender(r.store, service.web, clock=r.now, interval=0.0)
        for _ in range(8):
            await sender.send_due()
            r.clock.now += 3600  # past every backoff
            if (await store.run(slack_table.message, parent)).state == "failed":
                fake_slack.faults.clear()  # Slack takes messages again (token fixed, ...)
        assert (await store.run(slack_table.message, parent)).state == "failed"
        assert (await store.run(slack_table.message, update)).state == "cancelled"
        assert (await store.run(slack_table.message, later)).state == "sent"
        assert [m.text for m in fake_slack.log.messages(APPROVALS.id)] == ["next request"]


async def test_the_csv_of_a_report_slack_refused_is_posted_on_its_own(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        store = r.store
        report = await store.run(
            slack_table.enqueue,
            kind="post",
            channel=APPROVALS.id,
            payload={"text": "report"},
            now=r.now(),
        )
        csv = await store.run(
            slack_table.enqueue,
            kind="file",
            channel=APPROVALS.id,
            payload={"filename": "f.csv", "content": "a,b\n"},
            now=r.now(),
            parent_id=report,
        )
        fake_slack.faults.fail("chat.postMessage", "invalid_blocks", times=None)
        sender = OutboxSender(r.store, service.web, clock=r.now, interval=0.0)
        for _ in range(8):
            await sender.send_due()
            r.clock.now += 3600
        assert (await store.run(slack_table.message, report)).state == "failed"
        assert (await store.run(slack_table.message, csv)).state == "sent"
        [file] = fake_slack.log.files()
        assert file.thread_ts is None
