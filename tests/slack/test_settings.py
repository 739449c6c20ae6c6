"""Who may approve what, as the config says it: one destructive class, no settings that
could never be met or that weaken it, secrets over https only, group membership as Slack
says it at the decision."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from governor.config import ConfigError, parse_config
from governor.config.slack import SlackSettings
from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, APPROVERS, BOB, MALLORY
from governor.model.changes import Change
from governor.slack.authorize import Actor, Verdict, authorize
from governor.slack.interactions import Interaction
from governor.store.remediations import RemediationRecord
from governor.store.slack import ApprovalMessage
from tests.remediate.harness import rig
from tests.slack.harness import service_for, settings_for

pytestmark = pytest.mark.anyio
TEAM = "T0NEONGOV1"


def _load(slack: str) -> SlackSettings:
    text = f'[slack]\nchannel = "{APPROVALS.id}"\n{slack}\n'
    return parse_config(tomllib.loads(text), text=text, source="governor.toml").slack


def _request(kind: str) -> RemediationRecord:
    """An approval request of ``kind`` on a branch, as authorize sees it."""
    return RemediationRecord(
        id=1, run_id=None, reverts_id=None, account="", policy="", mode="approve", findings=[],
        resource_type="branch", resource_id="br-1", org_id=None, project_id=None,
        resource_name="dev", change=Change(kind), before={}, after={}, disruptive=False,
        irreversible=False, why="", estimate_usd=None, plan_hash=None,
        state="awaiting_approval", reason=None, created_at="", updated_at="",
        approval_expires_at=None, decided_by=None, decided_at=None, intent_at=None,
        sent_at=None, finished_at=None,
    )  # fmt: skip


def _refusal(slack: str) -> str:
    with pytest.raises(ConfigError) as raised:
        _load(slack)
    return str(raised.value)


async def test_narrowing_destructive_approvers_leaves_approver_groups_out_of_deletes() -> None:
    settings = _load(
        f'approvers = ["{ALICE.id}"]\napprover_groups = ["{APPROVERS.id}"]\n'
        f'destructive_approvers = ["{ALICE.id}"]'
    )
    assert settings.approvers_for(True) == ([ALICE.id], [])
    delete = _request("delete_branch")
    posted = ApprovalMessage(0, "token", 1, None, "", APPROVALS.id, "1.000001")

    async def members(group: str) -> set[str]:
        return {ALICE.id, BOB.id} if group == APPROVERS.id else set()

    async def verdict(user: str, record: RemediationRecord) -> Verdict:
        return await authorize(
            "approve",
            Actor(user, TEAM, APPROVALS.id, "1.000001"),
            settings=settings,
            team_id=TEAM,
            now=datetime(2026, 1, 1, tzinfo=UTC),
            group_members=members,
            record=record,
            approval=posted,
        )

    refused = await verdict(BOB.id, delete)  # in the group, not a destructive approver
    assert (refused.allowed, refused.reason) == (
        False,
        "you are not an approver for irreversible actions",
    )
    assert (await verdict(ALICE.id, delete)).allowed
    resize = replace(delete, change=Change("update_endpoint"))
    assert (await verdict(BOB.id, resize)).allowed  # the group still approves the rest


def test_with_no_destructive_list_both_classes_share_the_approvers() -> None:
    settings = _load(f'approvers = ["{ALICE.id}"]\napprover_groups = ["{APPROVERS.id}"]')
    assert settings.approvers_for(True) == settings.approvers_for(False)


@pytest.mark.parametrize(
    ("slack", "says"),
    [
        (
            f'approvers = ["{ALICE.id}", "{BOB.id}"]\nrequired_approvals = 2\n'
            "destructive_required_approvals = 1",
            "destructive_required_approvals (1) is below required_approvals (2)",
        ),
        (
            f'approvers = ["{ALICE.id}"]\nrequired_approvals = 2',
            "required_approvals is 2 but approvers lists only 1 person(s)",
        ),
        (
            f'approvers = ["{ALICE.id}", "{BOB.id}"]\ndestructive_approvers = ["{ALICE.id}"]\n'
            "destructive_required_approvals = 2",
            "destructive_required_approvals is 2 but destructive_approvers lists only 1",
        ),
        ('approval_ttl = "0s"', "[slack.approval_ttl] must be at least 1m"),
        ('approval_ttl = "30s"', "[slack.approval_ttl] must be at least 1m"),
        (
            'webhook_url = "http://hooks.slack.com/services/T/B/x"',
            "[slack.webhook_url] must be an https:// URL",
        ),
        ('api_url = "http://slack.example/api/"', "[slack.api_url] must be an https:// URL"),
        ('webhook_url = "ftp://hooks.slack.com/x"', "[slack.webhook_url] must be an https://"),
    ],
)
def test_impossible_or_weaker_approval_settings_are_refused_where_they_are_written(
    slack: str, says: str
) -> None:
    message = _refusal(slack)
    assert message.startswith("governor.toml:")
    assert says in message
    assert "Traceback" not in message


def test_groups_may_hold_enough_people_and_http_to_loopback_is_allowed() -> None:
    _load(f'approver_groups = ["{APPROVERS.id}"]\nrequired_approvals = 3')
    _load('webhook_url = "http://127.0.0.1:8999/hooks/T/B/x"')
    _load('api_url = "http://localhost:8999/api/"')


async def test_a_member_removed_from_an_approver_group_cannot_decide_after_the_removal(
    tmp_path: object, fake_slack: FakeSlack
) -> None:
    async with rig(tmp_path) as r:  # type: ignore[arg-type]
        settings = settings_for(fake_slack, approvers=[], approver_groups=[APPROVERS.id])
        service = service_for(r, fake_slack, settings)
        handler = await service.handler()

        def pause_by(user: str) -> Interaction:
            return Interaction("slash_command", Actor(user, TEAM, APPROVALS.id), text="pause")

        assert (await handler.handle(pause_by(BOB.id))).startswith("Remediation paused")
        fake_slack.set_usergroup(APPROVERS.id, (ALICE.id,))  # Bob leaves the group
        assert "only approvers" in await handler.handle(pause_by(BOB.id))
        assert "only approvers" in await handler.handle(pause_by(MALLORY.id))


def test_the_try_slack_locally_example_config_loads_with_the_fakes_ids() -> None:
    from pathlib import Path

    from governor.config import load_config
    from governor.fake_slack.workspace import REPORTS

    example = Path(__file__).resolve().parents[2] / "examples" / "fake-slack.toml"
    slack = load_config(example).slack
    assert (slack.channel, slack.approvals_to) == (REPORTS.id, APPROVALS.id)
    assert slack.approvers == [ALICE.id, BOB.id]
    assert slack.api_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("ttl", ['"0s"', '"59s"'])
def test_a_remediation_approval_ttl_below_a_minute_is_refused_where_it_is_written(
    ttl: str,
) -> None:
    text = f"[remediation]\napproval_ttl = {ttl}\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(tomllib.loads(text), text=text, source="governor.toml")
    message = str(raised.value)
    assert message.startswith("governor.toml:2:")
    assert "[remediation.approval_ttl] must be at least 1m" in message


def test_relative_slack_token_files_start_at_the_config_folder_not_the_working_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from governor.runtime import Runtime
    from governor.slack.service import app_token, bot_token

    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "bot-token").write_text("xoxb-from-the-config-folder\n")
    (folder / "app-token").write_text("xapp-from-the-config-folder\n")
    config = folder / "governor.toml"
    config.write_text(
        f'[slack]\nchannel = "{APPROVALS.id}"\n'
        'bot_token_file = "bot-token"\napp_token_file = "app-token"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = Runtime.load(config).config.slack
    assert bot_token(settings) == "xoxb-from-the-config-folder"
    assert app_token(settings) == "xapp-from-the-config-folder"


async def test_doctor_checks_the_bots_membership_of_the_approvals_channel_too(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from governor.diagnose.slack_checks import slack_checks
    from governor.fake_slack.workspace import OUTSIDE, REPORTS

    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.bot_token)
    monkeypatch.setenv("SLACK_APP_TOKEN", fake_slack.app_token)
    settings = settings_for(fake_slack, channel=REPORTS.id, approvals_channel=OUTSIDE.id)
    channels = [c for c in await slack_checks(settings) if c.name == "slack-channel"]
    assert [c.state for c in channels] == ["ok", "FAIL"]
    assert f"approvals_channel {OUTSIDE.id}: the bot is not a member" in channels[1].detail
