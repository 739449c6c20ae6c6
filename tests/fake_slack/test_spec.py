"""The fake's success answers against Slack's published Web API schemas (../shared).

Skipped when ../shared/slack-api-specs is absent; the corrections made to the old spec
first are listed in ``slack_spec.ERRATA``.
"""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, APPROVERS, REPORTS
from tests.fake_slack import slack_spec

pytestmark = pytest.mark.skipif(
    not slack_spec.spec_available(), reason="../shared/slack-api-specs is not available"
)

BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Neon report*"}},
    {
        "type": "actions",
        "block_id": "apr_1:v1",
        "elements": [
            {
                "type": "button",
                "action_id": "neon_approve",
                "value": "apr_1",
                "text": {"type": "plain_text", "text": "Approve"},
            }
        ],
    },
]
METADATA: dict[str, Any] = {"event_type": "neon_report", "event_payload": {"scan_id": "s1"}}


def conforms(method: str, answer: Any) -> None:
    assert slack_spec.problems(method, dict(answer.data)) == []


def test_chat_post_message_answers_match_the_spec(slack_web_client: WebClient) -> None:
    conforms("chat.postMessage", slack_web_client.chat_postMessage(channel=REPORTS.id, text="t"))
    conforms(
        "chat.postMessage",
        slack_web_client.chat_postMessage(
            channel=REPORTS.id, text="t", blocks=BLOCKS, metadata=METADATA
        ),
    )


def test_a_reply_answer_matches_the_spec(slack_web_client: WebClient) -> None:
    parent = slack_web_client.chat_postMessage(channel=REPORTS.id, text="parent")
    reply = slack_web_client.chat_postMessage(
        channel=REPORTS.id, text="reply", thread_ts=parent["ts"]
    )
    conforms("chat.postMessage", reply)


def test_chat_update_answers_match_the_spec(slack_web_client: WebClient) -> None:
    posted = slack_web_client.chat_postMessage(channel=APPROVALS.id, text="t", blocks=BLOCKS)
    conforms(
        "chat.update",
        slack_web_client.chat_update(channel=APPROVALS.id, ts=posted["ts"], text="done"),
    )
    conforms(
        "chat.update",
        slack_web_client.chat_update(
            channel=APPROVALS.id, ts=posted["ts"], text="done", blocks=BLOCKS[:1]
        ),
    )


def test_other_answers_match_the_spec(slack_web_client: WebClient, fake_slack: FakeSlack) -> None:
    conforms("auth.test", slack_web_client.auth_test())
    conforms(
        "chat.postEphemeral",
        slack_web_client.chat_postEphemeral(channel=APPROVALS.id, user=ALICE.id, text="no"),
    )
    conforms(
        "usergroups.users.list", slack_web_client.usergroups_users_list(usergroup=APPROVERS.id)
    )
    conforms("users.info", slack_web_client.users_info(user=ALICE.id))
    conforms("users.lookupByEmail", slack_web_client.users_lookupByEmail(email=ALICE.email))
    parent = slack_web_client.chat_postMessage(
        channel=REPORTS.id, text="report", blocks=BLOCKS, metadata=METADATA
    )
    slack_web_client.chat_postMessage(channel=REPORTS.id, text="reply", thread_ts=parent["ts"])
    slack_web_client.chat_update(channel=REPORTS.id, ts=parent["ts"], text="report v2")
    fake_slack.post_as_user(REPORTS.id, ALICE.id, "thanks")
    conforms(
        "conversations.history",
        slack_web_client.conversations_history(channel=REPORTS.id, include_all_metadata=True),
    )


def test_the_check_does_catch_a_wrong_answer() -> None:
    wrong = {"ok": True, "channel": "general", "ts": "12.5", "message": {"text": "x"}}
    found = slack_spec.problems("chat.postMessage", wrong)
    assert any(p.startswith("channel:") for p in found)
    assert any(p.startswith("ts:") for p in found)
    assert any("'type' is a required property" in p for p in found)
