"""Grouped approval requests (issue 19, calm Slack) against the fake Slack, posted through the
real slack_sdk client, and the remediation rig's simulator: one message per policy and owner
per run, "Approve all" / "Reject all" deciding each item by its own checks, "Show items"
posting each item's own message in the thread once, and owner approvers (approve_own)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from governor.config.owners import OwnerContact, OwnerRule, OwnersSettings
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, BOB, MALLORY
from governor.owners.match import OwnerMap
from governor.pipeline.audit import run_audit
from governor.remediate.cycle import apply_plan, plan_for
from governor.savings.prices import Prices
from governor.slack.approval_group_message import (
    APPROVE_ALL_ACTION,
    REJECT_ALL_ACTION,
    SHOW_ITEMS_ACTION,
)
from governor.slack.authorize import Actor
from governor.slack.interactions import Interaction
from governor.slack.service import SlackService
from governor.store import approval_groups, audit_log, history, remediations
from governor.store import slack as slack_table
from governor.store.approval_groups import ApprovalGroup
from governor.store.connection import write
from governor.store.remediations import RemediationRecord
from governor.sweep import Account
from tests.remediate.harness import Rig, rig, shipped
from tests.remediate.world import NEVER_SUSPENDS, OLD, PROJECT_ID, RECENT, STALE_CHILD
from tests.simulator.worlds import branch, endpoint
from tests.slack.harness import eventually, service_for, settings_for
from tests.slack.test_slack_flow import connected

pytestmark = pytest.mark.anyio
SUSPENDS = "never-suspending-computes"
STALE = "stale-branches"
OVERSIZED = "oversized-computes"


def busy_world(suspends: int, stale: int) -> Callable[[dict[str, Any]], None]:
    """The rig's world plus ``suspends`` computes that never suspend (reversible fixes)
    and ``stale`` stale branches (irreversible deletes)."""

    def edit(data: dict[str, Any]) -> None:
        project = data["organizations"][0]["projects"][0]
        for n in range(suspends):
            branch_id = f"br-busy-{n:03d}"
            project["branches"].append(
                branch(
                    branch_id,
                    PROJECT_ID,
                    f"busy/{n:03d}",
                    "br-main-1",
                    created_at=RECENT,
                    updated_at=RECENT,
                )
            )
            project["endpoints"].append(
                endpoint(
                    f"ep-busy-{n:03d}",
                    PROJECT_ID,
                    branch_id,
                    suspend_timeout_seconds=-1,
                    current_state="active",
                    started_at=RECENT,
                    last_active=RECENT,
                )
            )
        for n in range(stale):
            project["branches"].append(
                branch(
                    f"br-old-{n:03d}",
                    PROJECT_ID,
                    f"old/{n:03d}",
                    "br-main-1",
                    created_at=OLD,
                    updated_at=OLD,
                )
            )

    return edit


def _stamp(connection: sqlite3.Connection, owners: dict[str, str | None]) -> None:
    """``findings.owned_by`` as the owner map stamps it at evaluation (helper H1's job)."""
    with write(connection):
        for resource_id, owner in owners.items():
            connection.execute(
                "UPDATE findings SET owned_by = ? WHERE resource_id = ?", [owner, resource_id]
            )


async def _ask(
    r: Rig, service: SlackService, owner_of: Callable[[str], str | None] = lambda _: None
) -> dict[str, RemediationRecord]:
    """One run in approve mode: findings stamped with owners, requests asked and posted."""
    plan = await r.plan()
    findings = await r.store.run(history.findings)
    await r.store.run(_stamp, {f.resource_id: owner_of(f.resource_id) for f in findings})
    result = await apply_plan(plan, executor=r.executor(), run_id=None)
    await service.approvals.request(result.requested)
    assert await service.sender().flush(deadline_seconds=60)
    return {record.resource_id: record for record in result.requested}


async def _group_of(r: Rig, record: RemediationRecord) -> ApprovalGroup:
    item = await r.store.run(approval_groups.item_for, record.id)
    assert item is not None, f"remediation {record.id} was not asked in a group"
    return await r.store.run(approval_groups.get, item.group_id)


async def _click(
    service: SlackService, user: str, where: tuple[str | None, str | None], action: str, value: str
) -> str:
    """A click on the message at ``where`` as Socket Mode hands it to the service."""
    team = await service.team_id()
    assert team is not None
    channel, ts = where
    assert channel is not None
    assert ts is not None
    return await service.handle(
        Interaction("block_actions", Actor(user, team, channel, ts), action_id=action, value=value)
    )


async def _state(r: Rig, record: RemediationRecord) -> str:
    return str((await r.store.run(remediations.get, record.id)).state)


async def _group_updates(r: Rig, group: ApprovalGroup) -> list[Any]:
    return [
        m
        for m in await r.store.run(slack_table.outbox)
        if m.kind == "update" and m.parent_id == group.outbox_id
    ]


def _group_text(fake: FakeSlack, group: ApprovalGroup) -> str:
    assert group.channel is not None
    assert group.ts is not None
    return str(fake.log.message(group.channel, group.ts).blocks)


def _service(r: Rig, fake: FakeSlack, **settings: Any) -> SlackService:
    service = service_for(r, fake, settings_for(fake, **settings))
    service.sender_interval = 0.01
    return service


async def test_a_first_run_with_80_requests_posts_one_approval_message_per_policy_and_owner(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """Issue 19's done-when: 80+ findings across three policies and two owners (the owner
    map stamps them at the audit) in approve mode; the first run posts at most one approval
    message per policy and owner."""
    policies = [p for p in shipped("approve") if p.name in (SUSPENDS, STALE, OVERSIZED)]
    owner_map = OwnerMap.from_settings(
        OwnersSettings(
            default="team-b",
            owner=[OwnerContact(name="team-a"), OwnerContact(name="team-b")],
            rule=[OwnerRule(owner="team-a", branches=["busy/*[02468]", "old/*[02468]"])],
        ),
        tmp_path,
    )
    async with rig(tmp_path, policies=policies, edit_world=busy_world(40, 40)) as r:
        service = _service(r, fake_slack)
        audit = await run_audit(
            accounts=[Account("default", r.client)],
            store=r.store,
            policies=r.policies,
            prices=Prices(),
            clock=r.now,
            trigger="test",
            owners=owner_map,
        )
        plan = await plan_for(
            audit, store=r.store, policies=r.policies, settings=r.settings, now=r.now()
        )
        result = await apply_plan(plan, executor=r.executor(), run_id=audit.run_id)
        await service.approvals.request(result.requested)
        assert await service.sender().flush(deadline_seconds=60)
        asked = {record.resource_id: record for record in result.requested}
        assert len(asked) >= 80

        owners = {
            f.resource_id: f.owned_by
            for f in await r.store.run(history.findings)
            if f.resource_id in asked
        }
        pairs = {(record.policy, owners[record.resource_id]) for record in asked.values()}
        assert {owner for _, owner in pairs} == {"team-a", "team-b"}
        posts = fake_slack.log.calls("chat.postMessage")
        assert len(posts) == len(pairs) <= 6, [call.params.get("text") for call in posts]
        # every request is bound to its own row and token, inside a group or alone
        tokens = set()
        for record in asked.values():
            approval = await r.store.run(slack_table.approval_for, record.id)
            assert approval is not None
            assert approval.ts is not None
            tokens.add(approval.token)
        assert len(tokens) == len(asked)
        group = await _group_of(r, asked["ep-busy-000"])
        assert (group.policy, group.owner) == (SUSPENDS, "team-a")
        listed = _group_text(fake_slack, group)
        assert APPROVE_ALL_ACTION in listed
        assert SHOW_ITEMS_ACTION in listed
        assert "team-a" in listed
        assert "ep-busy-000" in listed
        assert "ep-busy-001" not in listed  # team-b's: in team-b's message
        # asked once: the daemon's next pass (or job) posts nothing more
        assert await service.approvals.request_unasked() == []
        assert await service.sender().flush(deadline_seconds=20)
        assert len(fake_slack.log.calls("chat.postMessage")) == len(posts)


async def test_approve_all_approves_each_reversible_item_and_leaves_irreversible_ones(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path, policies=shipped("approve"), edit_world=busy_world(3, 0)) as r:
        # Alice approves reversible changes only: irreversible ones are Bob's
        service = _service(r, fake_slack, destructive_approvers=[BOB.id])
        asked = await _ask(r, service)
        suspends = [x for x in asked.values() if x.policy == SUSPENDS]
        stale = [x for x in asked.values() if x.policy == STALE]
        assert len(suspends) == 4
        assert len(stale) == 3
        group = await _group_of(r, suspends[0])

        said = await _click(
            service, MALLORY.id, (group.channel, group.ts), APPROVE_ALL_ACTION, group.token
        )
        assert "refused 4: you are not an approver for this action (4)" in said, said
        assert {await _state(r, x) for x in suspends} == {"awaiting_approval"}

        renders = len(await _group_updates(r, group))
        said = await _click(
            service, ALICE.id, (group.channel, group.ts), APPROVE_ALL_ACTION, group.token
        )
        assert said.startswith("Approve all: approved 4"), said
        # the group message is re-rendered for the decisions and for the outcomes: twice,
        # not once per item
        assert len(await _group_updates(r, group)) == renders + 2
        assert {await _state(r, x) for x in suspends} == {"succeeded"}  # each ran, once
        patched = sorted(path for method, path, _ in r.mutations() if method == "PATCH")
        assert len(patched) == 4

        stale_group = await _group_of(r, stale[0])
        said = await _click(
            service, ALICE.id, (stale_group.channel, stale_group.ts), APPROVE_ALL_ACTION,
            stale_group.token,
        )  # fmt: skip
        assert "approved 0" in said
        assert "left 3 irreversible for a per-item decision" in said
        assert {await _state(r, x) for x in stale} == {"awaiting_approval"}
        assert await r.store.run(slack_table.votes, stale[0].id) == []
        # Bob may approve irreversible changes and one approval suffices: Approve all does
        said = await _click(
            service, BOB.id, (stale_group.channel, stale_group.ts), APPROVE_ALL_ACTION,
            stale_group.token,
        )  # fmt: skip
        assert said.startswith("Approve all: approved 3"), said

        # the group message shows each item's outcome, without the group buttons
        assert await service.sender().flush(deadline_seconds=30)
        final = _group_text(fake_slack, group)
        assert final.count(":white_check_mark: done") == 4, final
        assert APPROVE_ALL_ACTION not in final
        # every item's decision is on the audit log under its own remediation
        entries = [e for e in await r.store.run(audit_log.entries) if e.event == "slack_accepted"]
        assert {e.details.get("remediation") for e in entries} >= {x.id for x in suspends}


async def test_approve_all_with_two_required_records_one_vote_each_and_the_second_approves(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path, policies=shipped("approve"), edit_world=busy_world(2, 0)) as r:
        service = _service(r, fake_slack, required_approvals=2)
        asked = await _ask(r, service)
        suspends = [x for x in asked.values() if x.policy == SUSPENDS]
        group = await _group_of(r, suspends[0])
        where = (group.channel, group.ts)
        said = await _click(service, ALICE.id, where, APPROVE_ALL_ACTION, group.token)
        assert "approved 0, needs more votes 3" in said, said
        again = await _click(service, ALICE.id, where, APPROVE_ALL_ACTION, group.token)
        assert "refused 3: you already approved it" in again, again
        assert await service.sender().flush(deadline_seconds=30)
        assert "(1 of 2)" in _group_text(fake_slack, group)
        said = await _click(service, BOB.id, where, APPROVE_ALL_ACTION, group.token)
        assert said.startswith("Approve all: approved 3"), said


async def test_reject_all_rejects_each_item_and_sends_nothing(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = _service(r, fake_slack)
        asked = await _ask(r, service)
        stale = [x for x in asked.values() if x.policy == STALE]
        group = await _group_of(r, stale[0])
        said = await _click(
            service, BOB.id, (group.channel, group.ts), REJECT_ALL_ACTION, group.token
        )
        assert said.startswith("Reject all: rejected 3"), said
        assert {await _state(r, x) for x in stale} == {"rejected"}
        assert r.mutations(ok_only=False) == []


async def test_show_items_posts_each_items_own_message_in_the_thread_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = _service(r, fake_slack)
        asked = await _ask(r, service)
        stale = [x for x in asked.values() if x.policy == STALE]
        group = await _group_of(r, stale[0])
        where = (group.channel, group.ts)
        assert group.channel is not None
        assert group.ts is not None

        # a per-item button forged onto the group message is refused: items are decided
        # on their own message only
        item = await r.store.run(slack_table.approval_for, stale[0].id)
        assert item is not None
        said = await _click(service, ALICE.id, where, "neon_approve", item.token)
        assert "this approval request was never posted" in said, said  # not in the thread yet

        said = await _click(service, MALLORY.id, where, SHOW_ITEMS_ACTION, group.token)
        assert said.startswith("Posted 3 item(s) in the thread"), said
        queued = [m for m in await r.store.run(slack_table.outbox) if m.state == "pending"]
        # the thread's posts are bulk; the clicked message's update and the reply go first
        assert {(m.kind, m.priority) for m in queued} == {
            ("post", 0),
            ("update", 1),
            ("ephemeral", 1),
        }
        assert await service.sender().flush(deadline_seconds=30)
        replies = fake_slack.log.replies(group.channel, group.ts)
        assert len(replies) == 3
        assert all("Approve" in str(reply.blocks) for reply in replies)
        said = await _click(service, ALICE.id, where, SHOW_ITEMS_ACTION, group.token)
        assert said == "Every item is in the thread already."
        assert await service.sender().flush(deadline_seconds=30)
        assert len(fake_slack.log.replies(group.channel, group.ts)) == 3
        assert "Show items" not in _group_text(fake_slack, group)
        said = await _click(service, ALICE.id, where, "neon_approve", item.token)
        assert "the click does not come from the message" in said, said
        assert await _state(r, stale[0]) == "awaiting_approval"

        # a per-item click in the thread still decides exactly that item
        shown = await r.store.run(approval_groups.item_for, stale[0].id)
        assert shown is not None
        assert shown.item_ts is not None
        said = await _click(
            service, ALICE.id, (shown.item_channel, shown.item_ts), "neon_approve", item.token
        )
        assert said.startswith(f"Approved remediation {stale[0].id}"), said
        assert await _state(r, stale[0]) == "succeeded"
        assert {await _state(r, x) for x in stale[1:]} == {"awaiting_approval"}
        assert await service.sender().flush(deadline_seconds=30)
        # decided: its thread message and the group message both say so
        thread_message = fake_slack.log.message(group.channel, shown.item_ts)
        assert "done" in str(thread_message.blocks)
        assert "Approve" not in str(thread_message.blocks)
        assert _group_text(fake_slack, group).count(":white_check_mark: done") == 1


async def test_an_owner_approver_approves_their_own_reversible_items_only(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    contacts = (
        OwnerContact(name="team-a", slack_users=[MALLORY.id], approve_own=True),
        OwnerContact(name="team-b", slack_users=[BOB.id]),
    )
    owners = {NEVER_SUSPENDS: "team-a", STALE_CHILD: "team-a", "ep-busy-000": "team-b"}
    async with rig(tmp_path, policies=shipped("approve"), edit_world=busy_world(1, 0)) as r:
        service = _service(r, fake_slack, approvers=[ALICE.id])
        service.owner_contacts = contacts
        asked = await _ask(r, service, lambda resource: owners.get(resource, "team-c"))
        own, others = asked[NEVER_SUSPENDS], asked["ep-busy-000"]
        irreversible = asked[STALE_CHILD]
        for record in (own, others, irreversible):  # each alone for its policy and owner
            assert await r.store.run(approval_groups.item_for, record.id) is None

        async def click(record: RemediationRecord, user: str) -> str:
            approval = await r.store.run(slack_table.approval_for, record.id)
            assert approval is not None
            where = (approval.channel, approval.ts)
            return await _click(service, user, where, "neon_approve", approval.token)

        said = await click(others, MALLORY.id)
        assert "you are not an approver for this action" in said, said
        said = await click(irreversible, MALLORY.id)
        assert "you are not an approver for irreversible actions" in said, said
        assert "reversible changes only" in said, said
        said = await click(own, MALLORY.id)
        assert said.startswith(f"Approved remediation {own.id}"), said
        assert await _state(r, own) == "succeeded"
        assert {await _state(r, x) for x in (others, irreversible)} == {"awaiting_approval"}


async def test_an_owner_approver_may_not_approve_under_the_two_person_rule(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    contacts = (OwnerContact(name="team-a", slack_users=[MALLORY.id], approve_own=True),)
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = _service(r, fake_slack, required_approvals=2)
        service.owner_contacts = contacts
        own = (await _ask(r, service, lambda _: "team-a"))[NEVER_SUSPENDS]
        approval = await r.store.run(slack_table.approval_for, own.id)
        assert approval is not None
        where = (approval.channel, approval.ts)
        said = await _click(service, MALLORY.id, where, "neon_approve", approval.token)
        assert "under the two-person rule owners do not approve" in said, said
        assert await r.store.run(slack_table.votes, own.id) == []


@pytest.fixture
def app_token(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)


async def test_an_approve_all_click_in_slack_decides_the_group_and_answers_ephemerally(
    tmp_path: Path, fake_slack: FakeSlack, app_token: None
) -> None:
    """The real path: the button Slack shows, the Socket Mode envelope, the ephemeral."""
    async with rig(tmp_path, policies=shipped("approve"), edit_world=busy_world(2, 0)) as r:
        service = _service(r, fake_slack)
        async with connected(service, fake_slack):
            asked = await _ask(r, service)
            suspends = [x for x in asked.values() if x.policy == SUSPENDS]
            group = await _group_of(r, suspends[0])
            assert group.channel == APPROVALS.id
            assert group.ts is not None
            envelope = await asyncio.to_thread(
                fake_slack.click,
                channel=group.channel,
                ts=group.ts,
                action_id=APPROVE_ALL_ACTION,
                user=ALICE.id,
            )
            await asyncio.to_thread(fake_slack.wait_for_ack, envelope)

            async def all_done() -> bool:
                return {await _state(r, x) for x in suspends} == {"succeeded"}

            await eventually(all_done, what="every item of the group to succeed")
            ephemeral = await fake_slack.until(
                lambda log: next(
                    (e for e in log.ephemerals() if e.text.startswith("Approve all")), None
                ),
                what="the ephemeral summary",
            )
            assert ephemeral.user == ALICE.id
            assert "approved 3" in ephemeral.text
            ts = group.ts

            def shows_all_done(log: Any) -> Any:
                blocks = str(log.message(APPROVALS.id, ts).blocks)
                return blocks if blocks.count(":white_check_mark: done") == 3 else None

            await fake_slack.until(shows_all_done, what="the group message to show all done")


async def test_an_approve_click_on_an_owners_digest_holding_the_request_is_bound_to_it(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    """The digest's Approve (governor/slack/digest_message.py) binds to the digest message
    that carries the request's token; a digest without that token binds nothing."""
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = _service(r, fake_slack)
        record = (await _ask(r, service))[NEVER_SUSPENDS]
        approval = await r.store.run(slack_table.approval_for, record.id)
        assert approval is not None

        async def digest_with(token: str) -> tuple[str | None, str | None]:
            button = {"type": "button", "action_id": "neon_approve", "value": token,
                      "text": {"type": "plain_text", "text": "Approve"}}  # fmt: skip
            outbox_id = await r.store.run(
                slack_table.enqueue,
                kind="post",
                channel=APPROVALS.id,
                payload={"text": "digest", "blocks": [{"type": "actions", "elements": [button]}]},
                now=r.now(),
                ref="digest:team-a:1",
            )
            assert await service.sender().flush(deadline_seconds=20)
            sent = await r.store.run(slack_table.message, outbox_id)
            return sent.sent_channel, sent.sent_ts

        other = await digest_with("another-token")
        said = await _click(service, ALICE.id, other, "neon_approve", approval.token)
        assert "the click does not come from the message" in said, said
        holding = await digest_with(approval.token)
        said = await _click(service, ALICE.id, holding, "neon_approve", approval.token)
        assert said.startswith(f"Approved remediation {record.id}"), said


async def test_the_reaper_marks_a_groups_expired_items_with_one_group_update(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = _service(r, fake_slack)
        stale = [x for x in (await _ask(r, service)).values() if x.policy == STALE]
        group = await _group_of(r, stale[0])
        before = len(await _group_updates(r, group))
        r.clock.now += 25 * 3600
        expired = await service.approvals.reap()
        assert {x.id for x in stale} <= {x.id for x in expired}
        assert len(await _group_updates(r, group)) == before + 1
        assert await service.sender().flush(deadline_seconds=30)
        final = _group_text(fake_slack, group)
        assert final.count(":hourglass: expired") == 3, final
        assert APPROVE_ALL_ACTION not in final
        assert "Approve all" not in final


async def test_the_runtime_hands_slack_the_owners_from_the_owners_file(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """approve_own owners written in the file ``[owners] file`` names reach Slack's checks."""
    from governor.runtime import Runtime
    from governor.store import Store

    (tmp_path / "owners.toml").write_text(
        f'[[owner]]\nname = "team-a"\nslack_users = ["{MALLORY.id}"]\napprove_own = true\n'
    )
    config = tmp_path / "governor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "governor.db"}"\n'
        f'[slack]\nchannel = "{APPROVALS.id}"\napprovers = ["{ALICE.id}"]\n'
        f'api_url = "{fake_slack.base_url}"\n[owners]\nfile = "owners.toml"\n'
    )
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    async with await Store.open_async(tmp_path / "governor.db") as store:
        service = Runtime.load(config).slack(store, [])
        assert service is not None
        assert [(c.name, c.slack_users, c.approve_own) for c in service.owner_contacts] == [
            ("team-a", [MALLORY.id], True)
        ]
        handler = await service.handler()
        assert [c.name for c in handler.owners] == ["team-a"]


async def test_a_pass_and_the_slack_job_asking_at_once_post_each_request_once(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        service = _service(r, fake_slack)
        result = await apply_plan(await r.plan(), executor=r.executor(), run_id=None)
        first, second = await asyncio.gather(
            service.approvals.request(result.requested), service.approvals.request_unasked()
        )
        assert sorted(first + second) == sorted(record.id for record in result.requested)
        assert await service.sender().flush(deadline_seconds=30)
        posts = fake_slack.log.calls("chat.postMessage")
        assert len(posts) == len({record.policy for record in result.requested})
