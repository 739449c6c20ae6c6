"""Socket Mode with slack_sdk's built-in SocketModeClient: hello, envelopes, acks,
duplicate deliveries and reconnects. Every wait is on an event, with a generous timeout."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from governor.fake_slack import FakeSlack, SlackLog
from governor.fake_slack.workspace import ALICE, APPROVALS, BOB

WAIT = 30.0  # seconds; only reached when something is broken
APPROVAL_BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Delete branch `dev-old`?"}},
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
            }
        ],
    },
]


@dataclass
class Session:
    client: SocketModeClient
    requests: queue.Queue[SocketModeRequest] = field(default_factory=queue.Queue)
    raw: list[dict[str, Any]] = field(default_factory=list)

    def next_request(self) -> SocketModeRequest:
        return self.requests.get(timeout=WAIT)


def settle(client: SocketModeClient, fake: FakeSlack) -> None:
    """Wait until a reconnect is over: the client holds the newest connection and the
    fake has no other open. Closing the built-in client mid-swap races (see the notes)."""

    def settled(log: SlackLog) -> bool:
        opened = [c.id for c in log.connections() if c.open]
        newest = max((c.id for c in log.connections()), default=0)
        swapping = client.connect_operation_lock.locked()  # held while reconnecting
        return not swapping and client.is_connected() and opened == [newest]

    fake.log.wait_for(settled, timeout=WAIT, what="the Socket Mode client to settle")


@pytest.fixture
def session(fake_slack: FakeSlack, slack_web_client: WebClient) -> Iterator[Session]:
    """A connected built-in SocketModeClient whose listener acks every envelope first
    (with a payload for slash commands), then queues it for the test."""
    client = SocketModeClient(
        app_token=fake_slack.app_token, web_client=slack_web_client, ping_interval=1
    )
    opened = Session(client)

    def on_request(socket: BaseSocketModeClient, request: SocketModeRequest) -> None:
        payload = {"text": "on it"} if request.type == "slash_commands" else None
        socket.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))
        opened.requests.put(request)

    def on_message(
        _socket: BaseSocketModeClient, message: dict[str, Any], _raw: str | None
    ) -> None:
        opened.raw.append(message)

    client.socket_mode_request_listeners.append(on_request)
    client.message_listeners.append(on_message)
    try:
        client.connect()
        fake_slack.wait_for_connection(timeout=WAIT)
        yield opened
        settle(client, fake_slack)
        # The built-in client's close() waits for its reader's 3-second recv timeout
        # unless the socket is gone; cutting it first keeps teardown quick.
        client.auto_reconnect_enabled = False
        fake_slack.drop_connection(abort=True)
    finally:
        client.close()


def post_approval(client: WebClient) -> str:
    ts: str = client.chat_postMessage(
        channel=APPROVALS.id, text="Approval needed", blocks=APPROVAL_BLOCKS
    )["ts"]
    return ts


def test_the_client_connects_through_apps_connections_open_and_gets_hello(
    session: Session, fake_slack: FakeSlack
) -> None:
    (opened,) = fake_slack.log.calls("apps.connections.open")
    assert (opened.token_kind, opened.ok) == ("app", True)
    fake_slack.log.wait_for(lambda _: session.raw, timeout=WAIT, what="hello")
    hello = session.raw[0]
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": fake_slack.workspace.app_id}


def test_a_click_delivers_block_actions_and_the_ack_is_recorded(
    session: Session, fake_slack: FakeSlack, slack_web_client: WebClient
) -> None:
    ts = post_approval(slack_web_client)
    envelope_id = fake_slack.click(
        channel=APPROVALS.id, ts=ts, action_id="neon_approve", user=ALICE.id
    )
    request = session.next_request()
    assert (request.type, request.envelope_id) == ("interactive", envelope_id)
    payload = request.payload
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == ALICE.id
    assert payload["team"]["id"] == fake_slack.workspace.team_id
    assert payload["channel"]["id"] == APPROVALS.id
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": APPROVALS.id,
        "is_ephemeral": False,
    }
    assert payload["message"]["ts"] == ts
    assert payload["message"]["blocks"] == APPROVAL_BLOCKS
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"]) == (
        "neon_approve",
        "apr_1:v1",
        "apr_1",
    )
    assert payload["trigger_id"]
    assert payload["response_url"].startswith(fake_slack.http_root)
    ack = fake_slack.wait_for_ack(envelope_id, timeout=WAIT)
    assert (ack.frame, ack.payload) == ({"envelope_id": envelope_id}, None)


def test_a_forged_click_carries_what_the_test_says(
    session: Session, fake_slack: FakeSlack, slack_web_client: WebClient
) -> None:
    ts = post_approval(slack_web_client)
    fake_slack.click(
        channel=APPROVALS.id,
        ts=ts,
        action_id="neon_approve",
        user="U0STRANGER",
        value="apr_someone_else",
        team_id="T0OTHERTEAM",
    )
    payload = session.next_request().payload
    assert payload["user"]["id"] == "U0STRANGER"
    assert payload["actions"][0]["value"] == "apr_someone_else"
    assert payload["team"]["id"] == "T0OTHERTEAM"


def test_a_slash_command_and_its_ack_with_a_payload(
    session: Session, fake_slack: FakeSlack
) -> None:
    envelope_id = fake_slack.slash_command(
        "/neon", "approve apr_1", user=BOB.id, channel=APPROVALS.id
    )
    request = session.next_request()
    assert (request.type, request.accepts_response_payload) == ("slash_commands", True)
    assert {k: request.payload[k] for k in ("command", "text", "user_id", "channel_id")} == {
        "command": "/neon",
        "text": "approve apr_1",
        "user_id": BOB.id,
        "channel_id": APPROVALS.id,
    }
    assert request.payload["team_id"] == fake_slack.workspace.team_id
    ack = fake_slack.wait_for_ack(envelope_id, timeout=WAIT)
    assert ack.payload == {"text": "on it"}


def test_a_duplicate_delivery_has_the_same_envelope_id_and_a_retry_attempt(
    session: Session, fake_slack: FakeSlack, slack_web_client: WebClient
) -> None:
    ts = post_approval(slack_web_client)
    envelope_id = fake_slack.click(
        channel=APPROVALS.id, ts=ts, action_id="neon_approve", user=ALICE.id
    )
    first = session.next_request()
    fake_slack.redeliver(envelope_id, reason="timeout")
    second = session.next_request()
    assert first.envelope_id == second.envelope_id == envelope_id
    assert (first.retry_attempt, second.retry_attempt) == (None, 1)
    assert second.retry_reason == "timeout"
    assert second.payload == first.payload
    fake_slack.wait_for_ack(envelope_id, count=2, timeout=WAIT)
    assert len(fake_slack.log.deliveries(envelope_id)) == 2


def test_a_disconnect_frame_makes_the_client_reconnect_with_a_new_url(
    session: Session, fake_slack: FakeSlack, slack_web_client: WebClient
) -> None:
    fake_slack.send_disconnect("refresh_requested")
    second = fake_slack.wait_for_connection(count=2, timeout=WAIT)
    settle(session.client, fake_slack)
    opened = fake_slack.log.calls("apps.connections.open")
    assert len(opened) == 2
    ts = post_approval(slack_web_client)
    envelope_id = fake_slack.click(
        channel=APPROVALS.id, ts=ts, action_id="neon_approve", user=ALICE.id
    )
    assert session.next_request().envelope_id == envelope_id
    assert fake_slack.wait_for_ack(envelope_id, timeout=WAIT).connection_id == second.id


@pytest.mark.parametrize("abort", [False, True], ids=["close-frame", "cut-without-close"])
def test_a_lost_socket_is_replaced(
    session: Session, fake_slack: FakeSlack, slack_web_client: WebClient, abort: bool
) -> None:
    dropped = fake_slack.drop_connection(abort=abort)
    fake_slack.wait_for_connection(count=2, timeout=WAIT)
    settle(session.client, fake_slack)
    (closed,) = [c for c in fake_slack.log.connections() if c.id == dropped]
    assert not closed.open
    ts = post_approval(slack_web_client)
    envelope_id = fake_slack.click(
        channel=APPROVALS.id, ts=ts, action_id="neon_approve", user=ALICE.id
    )
    assert session.next_request().envelope_id == envelope_id
    fake_slack.wait_for_ack(envelope_id, timeout=WAIT)


def test_pushing_with_no_client_connected_times_out(fake_slack: FakeSlack) -> None:
    with pytest.raises(TimeoutError):
        fake_slack.slash_command("/neon", user=ALICE.id, channel=APPROVALS.id, timeout=0.2)


def test_clicking_a_button_that_is_not_there(
    session: Session, fake_slack: FakeSlack, slack_web_client: WebClient
) -> None:
    ts = post_approval(slack_web_client)
    with pytest.raises(LookupError):
        fake_slack.click(channel=APPROVALS.id, ts=ts, action_id="neon_reject", user=ALICE.id)
    with pytest.raises(LookupError):
        fake_slack.click(channel=APPROVALS.id, ts="1.000001", action_id="x", user=ALICE.id)


def test_the_response_url_answers_the_clicker_or_replaces_the_message(
    session: Session, fake_slack: FakeSlack, slack_web_client: WebClient
) -> None:
    ts = post_approval(slack_web_client)
    fake_slack.click(channel=APPROVALS.id, ts=ts, action_id="neon_approve", user=BOB.id)
    response_url = session.next_request().payload["response_url"]
    hook = WebhookClient(response_url)
    assert hook.send(text="You may not approve this.").status_code == 200
    (note,) = fake_slack.log.ephemerals()
    assert (note.user, note.text) == (BOB.id, "You may not approve this.")
    done = [{"type": "context", "elements": [{"type": "mrkdwn", "text": "✅ approved"}]}]
    assert hook.send(text="approved", blocks=done, replace_original=True).status_code == 200
    message = fake_slack.log.message(APPROVALS.id, ts)
    assert (message.text, list(message.blocks)) == ("approved", done)
    assert [post.body.get("replace_original") for post in fake_slack.log.responses()] == [
        None,
        True,
    ]
    assert WebhookClient(response_url + "x").send(text="?").status_code == 404


def test_a_slash_command_answered_in_channel_through_its_response_url(
    session: Session, fake_slack: FakeSlack
) -> None:
    fake_slack.slash_command("/neon", "report", user=ALICE.id, channel=APPROVALS.id)
    response_url = session.next_request().payload["response_url"]
    WebhookClient(response_url).send(text="Report coming up", response_type="in_channel")
    (message,) = fake_slack.log.messages(APPROVALS.id)
    assert message.text == "Report coming up"


def test_a_rate_limited_connections_open_is_retried_after_retry_after(
    fake_slack: FakeSlack, slack_web_client: WebClient
) -> None:
    fake_slack.faults.rate_limit("apps.connections.open", retry_after=1)
    client = SocketModeClient(
        app_token=fake_slack.app_token, web_client=slack_web_client, ping_interval=1
    )
    try:
        client.connect()  # sleeps Retry-After, then asks again
        fake_slack.wait_for_connection(timeout=WAIT)
        assert [c.status for c in fake_slack.log.calls("apps.connections.open")] == [429, 200]
        settle(client, fake_slack)
    finally:
        client.close()
