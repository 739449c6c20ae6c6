"""Slack end to end against the fake (real slack_sdk clients over loopback) and the Neon
simulator: reports through the outbox, approvals that bind to what runs, fail-closed clicks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, BOB, MALLORY
from governor.remediate.cycle import apply_plan
from governor.slack.service import SlackService
from governor.store import audit_log, exemptions, remediations
from governor.store import slack as slack_table
from tests.remediate.harness import Rig, rig, shipped
from tests.remediate.world import NEVER_SUSPENDS, PROJECT_ID
from tests.slack.harness import eventually, forged_click, service_for, settings_for

pytestmark = pytest.mark.anyio


@contextlib.asynccontextmanager
async def connected(service: SlackService, fake: FakeSlack) -> AsyncIterator[asyncio.Event]:
    """The Socket Mode connection and the outbox sender running, as the daemon runs them."""
    stopping = asyncio.Event()
    tasks = [
        asyncio.create_task(service.run_socket(stopping)),
        asyncio.create_task(service.sender().run(stopping, idle_seconds=0.05)),
    ]
    await asyncio.to_thread(fake.wait_for_connection)
    try:
        yield stopping
    finally:
        stopping.set()
        await asyncio.wait(tasks, timeout=20)


async def _request_approvals(r: Rig, service: SlackService) -> dict[str, Any]:
    result = await apply_plan(await r.plan(), executor=r.executor(), run_id=None)
    await service.approvals.request(result.requested)
    return {record.resource_id: record for record in result.requested}


async def _posted(service: SlackService, remediation_id: int) -> tuple[str, str]:
    async def sent() -> tuple[str, str] | None:
        approval = await service.store.run(slack_table.approval_for, remediation_id)
        if approval is None or approval.ts is None or approval.channel is None:
            return None
        return approval.channel, approval.ts

    return await eventually(sent, what=f"the approval message of {remediation_id}")


async def _report_posted(r: Rig) -> str:
    async def report_ts() -> str | None:
        posts = [m for m in await r.store.run(slack_table.outbox) if m.kind == "post"]
        return posts[0].sent_ts if posts and posts[0].sent_ts else None

    return await eventually(report_ts, what="the report")


async def _refusals(r: Rig, count: int | None = None) -> list[Any]:
    async def found() -> list[Any] | None:
        entries = [e for e in await r.store.run(audit_log.entries) if e.event == "slack_refused"]
        if count is None:
            return entries or None
        return entries if len(entries) == count else None

    return await eventually(found, what="refusals on the audit log")


def _patches(r: Rig) -> list[str]:
    return [path for method, path, _ in r.mutations() if method == "PATCH"]


@pytest.fixture
def app_token(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)


async def test_an_approvers_click_runs_exactly_that_remediation_and_the_message_shows_it(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            waiting = await _request_approvals(r, service)
            record = waiting[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=ALICE.id
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def done() -> bool:
                current = await r.store.run(remediations.get, record.id)
                return current.state == "succeeded"

            await eventually(done, what="the approved remediation to succeed")

            def updated(log: Any) -> Any:
                message = log.find_message(channel, ts)
                return message if message and "done" in str(message.blocks) else None

            await fake_slack.until(updated, what="the message to show the outcome")
        assert _patches(r) == [f"/projects/{PROJECT_ID}/endpoints/{NEVER_SUSPENDS}"]
        others = [x for x in waiting.values() if x.id != record.id]
        for other in others:
            assert (await r.store.run(remediations.get, other.id)).state == "awaiting_approval"


@pytest.mark.parametrize(
    ("who", "forge", "why"),
    [
        (MALLORY.id, {}, "not an approver"),
        (ALICE.id, {"team_id": "T0OTHERTEAM"}, "another Slack workspace"),
        (ALICE.id, {"value": "not-a-real-token"}, "no such request"),
    ],
)
async def test_clicks_that_fail_any_check_act_on_nothing(
    tmp_path: Path,
    fake_slack: FakeSlack,
    *,
    app_token: None,
    who: str,
    forge: dict[str, str],
    why: str,
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            envelope = await asyncio.to_thread(
                fake_slack.click,
                channel=channel,
                ts=ts,
                action_id="neon_approve",
                user=who,
                **forge,
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            [entry] = await _refusals(r)
            assert why in entry.details["reason"]
        assert r.mutations() == []
        assert (await r.store.run(remediations.get, record.id)).state == "awaiting_approval"


async def test_with_no_approvers_configured_no_click_is_ever_accepted(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack, approvers=[]))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            approval = await r.store.run(slack_table.approval_for, record.id)
            assert approval is not None
            for user in (ALICE.id, BOB.id, MALLORY.id):
                envelope = await asyncio.to_thread(
                    forged_click, fake_slack, channel=channel, ts=ts, user=user,
                    value=approval.token,
                )  # fmt: skip
                await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            await _refusals(r, 3)
        assert r.mutations() == []


async def test_a_request_nobody_may_approve_is_posted_without_buttons_and_says_how_to_decide(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack, approvers=[]))
        service.sender_interval = 0.01
        record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
        assert await service.sender().flush(deadline_seconds=20)
        channel, ts = await _posted(service, record.id)
        message = fake_slack.log.find_message(channel, ts)
        assert message is not None
        assert "neon_approve" not in str(message.blocks)
        assert "button" not in str(message.blocks)
        assert f"neon-governor approve {record.id}" in str(message.blocks)


async def test_a_replayed_envelope_and_a_second_click_change_nothing_more(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=ALICE.id
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)
            again = await asyncio.to_thread(fake_slack.redeliver, envelope)
            await asyncio.to_thread(fake_slack.wait_for_ack, again, count=2)

            async def done() -> bool:
                return (await r.store.run(remediations.get, record.id)).state == "succeeded"

            await eventually(done, what="the remediation to succeed")
            # a second click from a client still showing the buttons (the message itself
            # lost them as soon as the click's feedback went out, before bulk posts)
            approval = await r.store.run(slack_table.approval_for, record.id)
            assert approval is not None
            second = forged_click(
                fake_slack,
                channel=channel,
                ts=ts,
                user=BOB.id,
                value=approval.token,
                action_id="neon_reject",
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, second)

            [entry] = await _refusals(r)
            assert "already" in entry.details["reason"]
        assert len(_patches(r)) == 1


async def test_an_expired_request_cannot_be_approved(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            r.clock.now += 25 * 3600  # past the 24 h approval_ttl, on the server's clock
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=ALICE.id
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            [entry] = await _refusals(r)
            assert "expired" in entry.details["reason"]
        assert r.mutations() == []


async def test_two_person_rule_needs_two_distinct_approvers(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        settings = settings_for(fake_slack, required_approvals=2)
        service = service_for(r, fake_slack, settings)
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            for user in (ALICE.id, ALICE.id):
                envelope = await asyncio.to_thread(
                    fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=user
                )
                await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def one_vote_and_a_refusal() -> bool:
                refusals = [
                    e for e in await r.store.run(audit_log.entries) if e.event == "slack_refused"
                ]
                return len(refusals) == 1 and await r.store.run(slack_table.votes, record.id) == [
                    ALICE.id
                ]

            await eventually(one_vote_and_a_refusal, what="one vote, one refusal")
            assert r.mutations() == []
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=BOB.id
            )

            async def done() -> bool:
                return (await r.store.run(remediations.get, record.id)).state == "succeeded"

            await eventually(done, what="the remediation to run after the second approval")
        assert len(_patches(r)) == 1


async def test_pause_from_the_slash_command_is_for_approvers_only(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            envelope = await asyncio.to_thread(
                fake_slack.slash_command,
                "/neon-governor",
                "pause deploy freeze",
                user=MALLORY.id,
                channel=APPROVALS.id,
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            await _refusals(r)
            assert await r.store.run(remediations.paused) is None
            envelope = await asyncio.to_thread(
                fake_slack.slash_command,
                "/neon-governor",
                "pause deploy freeze",
                user=ALICE.id,
                channel=APPROVALS.id,
            )

            async def paused() -> Any:
                return await r.store.run(remediations.paused)

            switch = await eventually(paused, what="the pause")
            assert switch.reason == "deploy freeze"
            assert switch.set_by == f"slack:{ALICE.id}"


async def test_keep_exempts_the_resource_and_the_next_plan_waits_for_the_exemption(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            result = await r.audit()
            await service.notifier.run_finished(result)
            finding = next(f for f in result.findings if f.resource_id == NEVER_SUSPENDS)

            ts = await _report_posted(r)
            envelope = await asyncio.to_thread(
                fake_slack.click,
                channel=APPROVALS.id,
                ts=ts,
                action_id="neon_keep",
                user=BOB.id,
                value=f"keep:{finding.id}:7d",
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def kept() -> list[Any] | None:
                return await r.store.run(exemptions.listed, active_at=r.now()) or None

            [exemption] = await eventually(kept, what="the exemption")
            assert exemption.resource_id == NEVER_SUSPENDS
            assert exemption.created_by == f"slack:{BOB.id}"
        plan = await r.plan()
        item = next(i for i in plan.items if i.resource_id == NEVER_SUSPENDS)
        assert item.status == "waiting"
        assert "kept until" in item.reason
        result = await apply_plan(plan, executor=r.executor(), run_id=None)
        assert not [m for m in r.mutations() if NEVER_SUSPENDS in m[1]]
        assert result.outcomes


async def test_keep_on_a_branch_with_its_own_expiry_moves_neons_expiry_later(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    from tests.remediate.world import STALE_CHILD

    def expiring(data: dict[str, Any]) -> None:
        project = data["organizations"][0]["projects"][0]
        for branch in project["branches"]:
            if branch["id"] == STALE_CHILD:
                branch["expires_at"] = "2026-11-29T00:00:00Z"

    async with rig(tmp_path, edit_world=expiring) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            result = await r.audit()
            await service.notifier.run_finished(result)
            finding = next(f for f in result.findings if f.resource_id == STALE_CHILD)

            ts = await _report_posted(r)
            envelope = await asyncio.to_thread(
                fake_slack.click,
                channel=APPROVALS.id,
                ts=ts,
                action_id="neon_keep",
                user=ALICE.id,
                value=f"keep:{finding.id}:7d",
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def moved() -> Any:
                branch = r.world_branch(STALE_CHILD)
                return branch if branch and branch["expires_at"] > "2026-12-01" else None

            branch = await eventually(moved, what="Neon's expiry to move")
            assert branch["expires_at"].startswith("2026-12-0")
        patches = [body for method, path, body in r.mutations() if method == "PATCH"]
        assert patches == [{"branch": {"expires_at": branch["expires_at"]}}]


async def test_the_reaper_expires_stale_requests_and_updates_their_messages(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            r.clock.now += 25 * 3600
            expired = await service.approvals.reap()
            assert record.id in {x.id for x in expired}

            def says_expired(log: Any) -> Any:
                message = log.find_message(channel, ts)
                return message if message and "expired" in str(message.blocks).lower() else None

            await fake_slack.until(says_expired, what="the message to say it expired")
        assert (await r.store.run(remediations.get, record.id)).state == "expired"
        assert r.mutations() == []


async def test_requests_a_cli_apply_created_are_posted_by_the_daemons_slack_job(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    from typing import cast

    from governor.daemon.jobs import JobContext
    from governor.daemon.slack_jobs import ReaperJob

    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        # what `neon-governor apply` does: requests recorded, nothing posted to Slack
        result = await apply_plan(await r.plan(), executor=r.executor(), run_id=None)
        assert result.requested
        for record in result.requested:
            assert await r.store.run(slack_table.approval_for, record.id) is None
        await ReaperJob(service).run(cast(JobContext, None))
        assert await service.sender().flush(deadline_seconds=20)
        for record in result.requested:
            await _posted(service, record.id)
        await ReaperJob(service).run(cast(JobContext, None))  # asked once, not again
        posts = [m for m in await r.store.run(slack_table.outbox) if m.kind == "post"]
        # one message per policy (and owner: none here), each request asked once
        assert len(posts) == len({record.policy for record in result.requested})


async def test_a_refused_envelope_with_an_oversized_id_is_audited_bounded_and_escaped(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        forged_user = "U" + "A" * 300 + "\n\x1b[31mslack:U0ALICE001 approved"
        async with connected(service, fake_slack):
            envelope = await asyncio.to_thread(
                forged_click, fake_slack, channel=APPROVALS.id, ts="1.000001",
                user=forged_user, value="x",
            )  # fmt: skip
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)
            [entry] = await _refusals(r, 1)
        assert entry.actor.startswith("slack:UAAAA")
        assert len(entry.actor) <= len("slack:") + 64
        assert entry.actor.isprintable()
        assert entry.actor.isascii()
        assert "\n" not in entry.actor
        assert "\x1b" not in entry.actor
        assert entry.details["envelope_id"] == envelope[:80]
        assert "malformed" in entry.details["reason"]


async def test_debug_logs_carry_no_connection_ticket_and_no_button_value(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_reject", user=ALICE.id
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def rejected() -> bool:
                return (await r.store.run(remediations.get, record.id)).state == "rejected"

            await eventually(rejected, what="the rejection")
        approval = await r.store.run(slack_table.approval_for, record.id)
        assert approval is not None
        tickets = [c.ticket for c in fake_slack.log.connections()]
        assert tickets
        logged = caplog.text
        assert "ticket=[REDACTED]" in logged  # the connection was logged, without its ticket
        assert envelope in logged  # and so was the click, without the button's value
        for secret in [approval.token, *tickets, fake_slack.bot_token, fake_slack.app_token]:
            assert secret not in logged


async def test_requests_go_to_the_approvals_channel_and_the_done_version_keeps_who_approved(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    from governor.fake_slack.workspace import REPORTS

    async with rig(tmp_path, policies=shipped("approve")) as r:
        settings = settings_for(fake_slack, channel=REPORTS.id, approvals_channel=APPROVALS.id)
        service = service_for(r, fake_slack, settings)
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)
            assert channel == APPROVALS.id
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=ALICE.id
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            def done(log: Any) -> Any:
                message = log.find_message(channel, ts)
                return message if message and "*done*" in str(message.blocks) else None

            final = await fake_slack.until(done, what="the message to show the outcome")
        assert f"approved by <@{ALICE.id}>" in str(final.blocks)
        assert fake_slack.log.messages(REPORTS.id) == []


async def test_status_counts_requests_awaiting_approval_apart_from_work_under_way(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    from governor.slack.authorize import Actor
    from governor.slack.interactions import Interaction

    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        waiting = await _request_approvals(r, service)
        handler = await service.handler()
        actor = Actor(MALLORY.id, fake_slack.workspace.team_id, APPROVALS.id)
        status = await handler.handle(Interaction("slash_command", actor, text="status"))
        assert "under way" not in status
        assert f"{len(waiting)} awaiting approval" in status
        assert "0 running" in status
        plan = await handler.handle(Interaction("slash_command", actor, text="plan"))
        assert "Pending remediations (not a new plan" in plan


async def test_the_example_click_script_presses_a_button_in_the_fake(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "examples" / "fake_slack_click.py"
    spec = importlib.util.spec_from_file_location("fake_slack_click", script)
    assert spec is not None
    assert spec.loader is not None
    click = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(click)
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            await _posted(service, record.id)
            args = [fake_slack.http_root, str(record.id), "reject", "--user", BOB.id]
            assert await asyncio.to_thread(click.main, args) == 0

            async def rejected() -> bool:
                return (await r.store.run(remediations.get, record.id)).state == "rejected"

            await eventually(rejected, what="the rejection from the example script")


async def test_a_vote_by_someone_since_removed_from_the_approver_group_no_longer_counts(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    from governor.fake_slack.workspace import APPROVERS

    async with rig(tmp_path, policies=shipped("approve")) as r:
        settings = settings_for(
            fake_slack, approvers=[], approver_groups=[APPROVERS.id], required_approvals=2
        )
        service = service_for(r, fake_slack, settings)
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            channel, ts = await _posted(service, record.id)

            async def replied(user: str, text: str) -> bool:
                return any(
                    m.payload.get("user") == user and text in str(m.payload.get("text"))
                    for m in await r.store.run(slack_table.outbox)
                    if m.kind == "ephemeral"
                )

            await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=BOB.id
            )
            await eventually(lambda: replied(BOB.id, "(1 of 2)"), what="Bob's vote")
            fake_slack.set_usergroup(APPROVERS.id, (ALICE.id,))  # Bob leaves the group
            await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=ALICE.id
            )
            await eventually(lambda: replied(ALICE.id, "(1 of 2)"), what="Alice's vote")
        assert (await r.store.run(remediations.get, record.id)).state == "awaiting_approval"
        assert r.mutations() == []


async def test_an_approval_withdrawn_by_a_reject_click_is_labelled_withdrawn_not_rejected(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    from governor.fake_slack.workspace import APPROVERS
    from governor.remediate import decisions

    settings = settings_for(fake_slack, approvers=[], approver_groups=[APPROVERS.id])
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = service_for(r, fake_slack, settings)
        service.sender_interval = 0.01
        record_ids: list[int] = []

        async def approved_meanwhile(group: str) -> set[str]:
            """Another approver's CLI approve lands between the click's check and its move."""
            current = await r.store.run(remediations.get, record_ids[0])
            if current.state == "awaiting_approval":
                await decisions.approve(r.store, current.id, actor="cli:bob", now=r.now())
            return set(APPROVERS.users)

        service.group_members = approved_meanwhile  # type: ignore[method-assign]
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[NEVER_SUSPENDS]
            record_ids.append(record.id)
            channel, ts = await _posted(service, record.id)
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_reject", user=ALICE.id
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            def decided(log: Any) -> Any:
                message = log.find_message(channel, ts)
                return message if message and "by <@" in str(message.blocks) else None

            message = await fake_slack.until(decided, what="the message to show the decision")
        assert (await r.store.run(remediations.get, record.id)).state == "skipped"
        assert "*withdrawn*" in str(message.blocks)
        assert "*rejected*" not in str(message.blocks)
