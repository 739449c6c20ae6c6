"""Scheduled failures: 429 + Retry-After with slack_sdk's retry handler, errors, outages."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import REPORTS


def test_rate_limit_is_retried_by_the_handler_after_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.faults.rate_limit("chat.postMessage", times=1, retry_after=1)
    client = WebClient(
        token=fake_slack.bot_token,
        base_url=fake_slack.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    started = time.monotonic()
    answer = client.chat_postMessage(channel=REPORTS.id, text="eventually")
    assert answer["ok"]
    assert time.monotonic() - started >= 1.0  # it honoured Retry-After
    calls = fake_slack.log.calls("chat.postMessage")
    assert [(c.status, c.error) for c in calls] == [(429, "ratelimited"), (200, None)]
    assert len(fake_slack.log.messages(REPORTS.id)) == 1


def test_without_the_handler_429_is_an_error_with_retry_after(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.faults.rate_limit("chat.postMessage", retry_after=30)
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.chat_postMessage(channel=REPORTS.id, text="now")
    response = failure.value.response
    assert (response.status_code, response["error"]) == (429, "ratelimited")
    assert response.headers["Retry-After"] == "30"
    assert slack_web_client.chat_postMessage(channel=REPORTS.id, text="later")["ok"]


def test_the_handler_gives_up_after_its_retries(fake_slack: FakeSlack) -> None:
    fake_slack.faults.rate_limit("auth.test", times=None, retry_after=0)
    client = WebClient(
        token=fake_slack.bot_token,
        base_url=fake_slack.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    with pytest.raises(SlackApiError) as failure:
        client.auth_test()
    assert failure.value.response.status_code == 429
    assert len(fake_slack.log.calls("auth.test")) == 2
    fake_slack.faults.clear()
    assert client.auth_test()["ok"]


@pytest.mark.parametrize("error", ["ratelimited", "channel_not_found", "invalid_auth"])
def test_any_error_can_be_scheduled_for_the_next_calls(
    slack_web_client: WebClient, fake_slack: FakeSlack, error: str
) -> None:
    fake_slack.faults.fail("chat.postMessage", error, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as failure:
            slack_web_client.chat_postMessage(channel=REPORTS.id, text="x")
        assert failure.value.response["error"] == error
    assert slack_web_client.chat_postMessage(channel=REPORTS.id, text="x")["ok"]
    assert slack_web_client.auth_test()["ok"]  # other methods were never affected


def test_a_revoked_token_everywhere(slack_web_client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.faults.fail("*", "token_revoked", times=None)
    for call in (slack_web_client.auth_test, slack_web_client.users_list):
        with pytest.raises(SlackApiError) as failure:
            call()
        assert failure.value.response["error"] in ("token_revoked", "unknown_method")
    with pytest.raises(SlackApiError) as post:
        slack_web_client.chat_postMessage(channel=REPORTS.id, text="x")
    assert post.value.response["error"] == "token_revoked"
    fake_slack.faults.clear()
    assert slack_web_client.auth_test()["ok"]


def test_down_refuses_connections_until_up(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.down("refuse")
    with pytest.raises(urllib.error.URLError) as failure:
        slack_web_client.auth_test()
    assert isinstance(failure.value.reason, ConnectionRefusedError)
    assert fake_slack.log.calls() == []  # nothing reached the fake
    fake_slack.up()
    assert slack_web_client.auth_test()["ok"]


def test_down_unavailable_answers_503_until_up(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.down("unavailable")
    with pytest.raises(SlackApiError) as failure:
        slack_web_client.chat_postMessage(channel=REPORTS.id, text="x")
    assert failure.value.response.status_code == 503
    assert [c.status for c in fake_slack.log.calls()] == [503]
    fake_slack.up()
    assert slack_web_client.chat_postMessage(channel=REPORTS.id, text="x")["ok"]


def test_an_outage_during_an_upload_fails_the_upload_step(
    slack_web_client: WebClient, fake_slack: FakeSlack
) -> None:
    issued = slack_web_client.files_getUploadURLExternal(filename="r.csv", length=1)
    fake_slack.down("unavailable")
    request = urllib.request.Request(issued["upload_url"], data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request, timeout=10)
    assert failure.value.code == 503
    failure.value.close()
    fake_slack.up()
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
