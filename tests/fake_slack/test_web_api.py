"""The Web API methods through the real slack_sdk WebClient: answers, state, the log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, APPROVERS, OUTSIDE, PRIVATE, REPORTS

APPROVAL_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Delete stale branch* `dev-old`"}},
    {
        "type": "actions",
        "block_id": "apr_1:v1",
        "elements": [
            {
                "type": "button",
                "action_id": "neon_approve",
                "style": "primary",
                "value": "apr_1",
                "text": {"type": "plain_text", "text": "Approve"},
            },
            {
                "type": "button",
                "action_id": "neon_reject",
                "style": "danger",
                "value": "apr_1",
                "text": {"type": "plain_text", "text": "Reject"},
            },
        ],
    },
]


def error_of(call: object) -> SlackApiError:
    assert isinstance(call, SlackApiError)
    return call


def test_auth_test_names_the_bot(slack_web_client: WebClient, fake_slack: FakeSlack) -> None:
    answer = slack_web_client.auth_test()
    assert answer["user_id"] == fake_slack.workspace.bot_user_id
    assert answer["team_id"] == fake_slack.workspace.team_id
    assert answer["bot_id"] == fake_slack.workspace.bot_id


def test_post_records_channel_text_blocks_metadata_and_returns_ts(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    answer = slack_web_client.chat_postMessage(
        channel=APPROVALS.id,
        text="Approval needed: delete dev-old",
        blocks=APPROVAL_BLOCKS,
        metadata={"event_type": "neon_approval", "event_payload": {"approval_id": "apr_1"}},
    )
    assert answer["ok"]
    assert answer["channel"] == APPROVALS.id
    message = fake_slack.log.message(APPROVALS.id, answer["ts"])
    assert message.text == "Approval needed: delete dev-old"
    assert list(message.blocks) == APPROVAL_BLOCKS
    assert message.metadata == {
        "event_type": "neon_approval",
        "event_payload": {"approval_id": "apr_1"},
    }
    assert answer["message"]["blocks"] == APPROVAL_BLOCKS


def test_a_channel_name_resolves_to_its_id(slack_web_client: WebClient) -> None:
    answer = slack_web_client.chat_postMessage(channel=f"#{REPORTS.name}", text="hi")
    assert answer["channel"] == REPORTS.id


def test_timestamps_are_unique_and_increasing(slack_web_client: WebClient) -> None:
    stamps = [
        slack_web_client.chat_postMessage(channel=REPORTS.id, text=f"{n}")["ts"] for n in range(5)
    ]
    assert stamps == sorted(stamps, key=lambda ts: tuple(map(int, ts.split("."))))
    assert len(set(stamps)) == 5


def test_update_replaces_text_and_blocks_and_keeps_every_version(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    posted = slack_web_client.chat_postMessage(
        channel=APPROVALS.id, text="pending", blocks=APPROVAL_BLOCKS
    )
    done = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "✅ Approved"}]}]
    answer = slack_web_client.chat_update(
        channel=APPROVALS.id, ts=posted["ts"], text="approved", blocks=done
    )
    assert answer["ts"] == posted["ts"]
    assert answer["text"] == "approved"
    message = fake_slack.log.message(APPROVALS.id, posted["ts"])
    assert (message.text, list(message.blocks)) == ("approved", done)
    assert [v.text for v in message.versions] == ["pending", "approved"]
    assert message.edited_ts is not None


def test_update_with_text_only_keeps_the_blocks(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    posted = slack_web_client.chat_postMessage(
        channel=APPROVALS.id, text="pending", blocks=APPROVAL_BLOCKS
    )
    slack_web_client.chat_update(channel=APPROVALS.id, ts=posted["ts"], text="still pending")
    message = fake_slack.log.message(APPROVALS.id, posted["ts"])
    assert message.text == "still pending"
    assert list(message.blocks) == APPROVAL_BLOCKS


def test_update_of_an_unknown_message_or_someone_elses(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    with pytest.raises(SlackApiError) as unknown:
        slack_web_client.chat_update(channel=REPORTS.id, ts="1700000000.000001", text="x")
    assert unknown.value.response["error"] == "message_not_found"
    theirs = fake_slack.post_as_user(REPORTS.id, ALICE.id, "my own words")
    with pytest.raises(SlackApiError) as refused:
        slack_web_client.chat_update(channel=REPORTS.id, ts=theirs, text="x")
    assert refused.value.response["error"] == "cant_update_message"


def test_history_is_newest_first_top_level_with_metadata_on_request(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    first = slack_web_client.chat_postMessage(
        channel=REPORTS.id,
        text="report 1",
        metadata={"event_type": "neon_report", "event_payload": {"scan_id": "s1"}},
    )
    slack_web_client.chat_postMessage(channel=REPORTS.id, text="in thread", thread_ts=first["ts"])
    fake_slack.post_as_user(REPORTS.id, ALICE.id, "thanks!")
    history = slack_web_client.conversations_history(channel=REPORTS.id)
    assert [m["text"] for m in history["messages"]] == ["thanks!", "report 1"]
    assert "metadata" not in history["messages"][1]
    assert history["messages"][1]["reply_count"] == 1
    with_metadata = slack_web_client.conversations_history(
        channel=REPORTS.id, include_all_metadata=True
    )
    assert with_metadata["messages"][1]["metadata"]["event_payload"] == {"scan_id": "s1"}


def test_history_shows_the_current_version_of_an_updated_message(
    slack_web_client: WebClient,
) -> None:
    posted = slack_web_client.chat_postMessage(channel=REPORTS.id, text="draft [scan:s9]")
    slack_web_client.chat_update(channel=REPORTS.id, ts=posted["ts"], text="final [scan:s9]")
    (message,) = slack_web_client.conversations_history(channel=REPORTS.id)["messages"]
    assert message["text"] == "final [scan:s9]"
    assert message["edited"]["ts"] > posted["ts"]


def test_history_pages_with_cursors_and_honours_oldest(slack_web_client: WebClient) -> None:
    stamps = [
        slack_web_client.chat_postMessage(channel=REPORTS.id, text=f"m{n}")["ts"] for n in range(5)
    ]
    seen = [
        message["text"]
        for page in slack_web_client.conversations_history(channel=REPORTS.id, limit=2)
        for message in page["messages"]
    ]
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
    newer = slack_web_client.conversations_history(channel=REPORTS.id, oldest=stamps[2])
    assert [m["text"] for m in newer["messages"]] == ["m4", "m3"]
    inclusive = slack_web_client.conversations_history(
        channel=REPORTS.id, oldest=stamps[2], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m4", "m3", "m2"]


def test_replies_list_the_parent_then_the_thread(slack_web_client: WebClient) -> None:
    parent = slack_web_client.chat_postMessage(channel=REPORTS.id, text="report")
    for text in ("one", "two"):
        slack_web_client.chat_postMessage(channel=REPORTS.id, text=text, thread_ts=parent["ts"])
    thread = slack_web_client.conversations_replies(channel=REPORTS.id, ts=parent["ts"])
    assert [m["text"] for m in thread["messages"]] == ["report", "one", "two"]
    assert all(m["thread_ts"] == parent["ts"] for m in thread["messages"])


def test_ephemeral_goes_to_one_member(slack_web_client: WebClient, fake_slack: FakeSlack) -> None:
    answer = slack_web_client.chat_postEphemeral(
        channel=APPROVALS.id, user=ALICE.id, text="You are not allowed to approve."
    )
    (ephemeral,) = fake_slack.log.ephemerals()
    assert (ephemeral.user, ephemeral.ts) == (ALICE.id, answer["message_ts"])
    with pytest.raises(SlackApiError) as outsider:
        slack_web_client.chat_postEphemeral(channel=OUTSIDE.id, user=ALICE.id, text="x")
    assert outsider.value.response["error"] == "not_in_channel"


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        ("C0NOSUCH01", "channel_not_found"),
        (PRIVATE.id, "channel_not_found"),  # a private channel without the bot is invisible
        (OUTSIDE.id, "not_in_channel"),
        ("#no-such-channel", "channel_not_found"),
    ],
)
def test_channels_the_bot_cannot_post_to(
    slack_web_client: WebClient, channel: str, error: str
) -> None:
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.chat_postMessage(channel=channel, text="hi")
    assert failure.value.response["error"] == error
    assert failure.value.response.status_code == 200


def test_history_of_an_unknown_channel(slack_web_client: WebClient) -> None:
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.conversations_history(channel="C0NOSUCH01")
    assert failure.value.response["error"] == "channel_not_found"


@pytest.mark.parametrize(
    "token",
    ["xoxb-someone-elses-token", "xoxp-a-user-token", "not-a-token"],
)
def test_an_unknown_token_is_invalid_auth(fake_slack: FakeSlack, token: str) -> None:
    client = WebClient(token=token, base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as failure:
        client.auth_test()
    assert failure.value.response["error"] == "invalid_auth"


def test_no_token_is_not_authed(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as failure:
        WebClient(base_url=fake_slack.base_url).chat_postMessage(channel=REPORTS.id, text="x")
    assert failure.value.response["error"] == "not_authed"


def test_each_token_works_only_where_slack_takes_it(fake_slack: FakeSlack) -> None:
    app_client = WebClient(token=fake_slack.app_token, base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as app_on_chat:
        app_client.chat_postMessage(channel=REPORTS.id, text="x")
    assert app_on_chat.value.response["error"] == "not_allowed_token_type"
    bot_client = WebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)
    with pytest.raises(SlackApiError) as bot_on_socket:
        bot_client.apps_connections_open(app_token=fake_slack.bot_token)
    assert bot_on_socket.value.response["error"] == "not_allowed_token_type"
    url = bot_client.apps_connections_open(app_token=fake_slack.app_token)["url"]
    assert url.startswith(fake_slack.socket_url + "?ticket=")


def test_more_than_50_blocks_is_invalid_blocks(slack_web_client: WebClient) -> None:
    blocks = [{"type": "divider"} for _ in range(51)]
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.chat_postMessage(channel=REPORTS.id, text="big", blocks=blocks)
    assert failure.value.response["error"] == "invalid_blocks"
    assert failure.value.response["errors"] == [
        "no more than 50 items allowed [json-pointer:/blocks]"
    ]


def test_exactly_50_blocks_and_3000_characters_are_fine(slack_web_client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}] + [
        {"type": "divider"} for _ in range(49)
    ]
    assert slack_web_client.chat_postMessage(channel=REPORTS.id, text="t", blocks=blocks)["ok"]


def test_a_section_over_3000_characters_is_invalid_blocks(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError) as post:
        slack_web_client.chat_postMessage(channel=REPORTS.id, text="t", blocks=blocks)
    assert post.value.response["error"] == "invalid_blocks"
    assert post.value.response["errors"] == [
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    posted = slack_web_client.chat_postMessage(channel=REPORTS.id, text="short")
    with pytest.raises(SlackApiError) as update:
        slack_web_client.chat_update(channel=REPORTS.id, ts=posted["ts"], text="t", blocks=blocks)
    assert update.value.response["error"] == "invalid_blocks"
    assert fake_slack.log.message(REPORTS.id, posted["ts"]).text == "short"


def test_no_text_and_no_blocks_is_no_text(slack_web_client: WebClient) -> None:
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.api_call("chat.postMessage", json={"channel": REPORTS.id})
    assert failure.value.response["error"] == "no_text"


def test_form_encoded_blocks_are_read_as_json(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    answer = slack_web_client.api_call(
        "chat.postMessage",
        data={"channel": REPORTS.id, "text": "form", "blocks": json.dumps(APPROVAL_BLOCKS)},
    )
    assert list(fake_slack.log.message(REPORTS.id, answer["ts"]).blocks) == APPROVAL_BLOCKS


def test_users_and_user_groups(slack_web_client: WebClient) -> None:
    assert slack_web_client.users_lookupByEmail(email="Alice@Example.com")["user"]["id"] == ALICE.id
    assert slack_web_client.users_info(user=ALICE.id)["user"]["profile"]["email"] == ALICE.email
    members = slack_web_client.usergroups_users_list(usergroup=APPROVERS.id)["users"]
    assert members == list(APPROVERS.users)
    with pytest.raises(SlackApiError) as no_email:
        slack_web_client.users_lookupByEmail(email="nobody@example.com")
    assert no_email.value.response["error"] == "users_not_found"
    with pytest.raises(SlackApiError) as no_user:
        slack_web_client.users_info(user="U0NOBODY01")
    assert no_user.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as no_group:
        slack_web_client.usergroups_users_list(usergroup="S0NOSUCH01")
    assert no_group.value.response["error"] == "no_such_subteam"


def test_the_log_records_every_call_without_the_token(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    slack_web_client.chat_postMessage(channel=REPORTS.id, text="hello", token=fake_slack.bot_token)
    with pytest.raises(SlackApiError):
        slack_web_client.chat_postMessage(channel="C0NOSUCH01", text="lost")
    calls = fake_slack.log.calls("chat.postMessage")
    assert [(c.ok, c.error, c.params["text"]) for c in calls] == [
        (True, None, "hello"),
        (False, "channel_not_found", "lost"),
    ]
    assert all(c.token_kind == "bot" for c in calls)
    assert fake_slack.bot_token not in json.dumps(fake_slack.log.snapshot())


def test_an_unknown_method(slack_web_client: WebClient) -> None:
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.api_call("chat.doesNotExist")
    assert failure.value.response["error"] == "unknown_method"
