"""A project delete needs two approvers in Slack by default: one click never deletes it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, BOB
from governor.store import remediations
from governor.store import slack as slack_table
from tests.fake_slack.fixtures import fake_slack  # noqa: F401 (a fixture)
from tests.remediate.harness import rig
from tests.remediate.test_new_levers import PROJECT, lever_world, policy
from tests.remediate.world import PROJECT_ID
from tests.slack.harness import eventually, service_for, settings_for
from tests.slack.test_slack_flow import _posted, _request_approvals, connected

pytestmark = pytest.mark.anyio


@pytest.fixture
def app_token(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> None:  # noqa: F811
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)


async def test_one_approval_of_a_project_delete_deletes_nothing_and_a_second_does(
    tmp_path: Path,
    fake_slack: FakeSlack,  # noqa: F811
    app_token: None,
) -> None:
    levers = policy(tmp_path, "project", PROJECT, "{type: delete_project}", "approve")
    async with rig(tmp_path, policies=levers, edit_world=lever_world) as r:
        service = service_for(r, fake_slack, settings_for(fake_slack))  # required_approvals 1
        service.sender_interval = 0.01
        async with connected(service, fake_slack):
            record = (await _request_approvals(r, service))[PROJECT_ID]
            channel, ts = await _posted(service, record.id)
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=ALICE.id
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def one_vote() -> bool:
                return await r.store.run(slack_table.votes, record.id) == [ALICE.id]

            await eventually(one_vote, what="Alice's vote")
            still = await r.store.run(remediations.get, record.id)
            assert still.state == "awaiting_approval"
            assert r.mutations() == []
            envelope = await asyncio.to_thread(
                fake_slack.click, channel=channel, ts=ts, action_id="neon_approve", user=BOB.id
            )

            async def done() -> bool:
                return (await r.store.run(remediations.get, record.id)).state == "succeeded"

            await eventually(done, what="the delete after the second approval")
        assert r.mutations() == [("DELETE", f"/projects/{PROJECT_ID}", None)]
