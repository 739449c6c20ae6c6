"""The asyncio side of slack_sdk against the fake: AsyncWebClient and the aiohttp
SocketModeClient (both need aiohttp), driven from the test's own event loop while the
fake serves from its thread."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from governor.fake_slack import FakeSlack
from governor.fake_slack.workspace import ALICE, APPROVALS, REPORTS

pytestmark = pytest.mark.anyio
WAIT = 30.0


async def test_async_web_client_posts_reads_history_and_uploads(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)
    posted = await client.chat_postMessage(channel=REPORTS.id, text="async report")
    history = await client.conversations_history(channel=REPORTS.id)
    assert [m["ts"] for m in history["messages"]] == [posted["ts"]]
    await client.files_upload_v2(
        channel=REPORTS.id, thread_ts=posted["ts"], filename="r.csv", content="a,b\n"
    )
    (uploaded,) = fake_slack.log.files()
    assert (uploaded.content, uploaded.thread_ts) == (b"a,b\n", posted["ts"])
    with pytest.raises(SlackApiError) as failure:
        await client.chat_postMessage(channel="C0NOSUCH01", text="x")
    assert failure.value.response["error"] == "channel_not_found"


async def test_async_rate_limit_retry(fake_slack: FakeSlack) -> None:
    fake_slack.faults.rate_limit("chat.postMessage", retry_after=0)
    client = AsyncWebClient(
        token=fake_slack.bot_token,
        base_url=fake_slack.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert (await client.chat_postMessage(channel=REPORTS.id, text="x"))["ok"]
    assert [c.status for c in fake_slack.log.calls("chat.postMessage")] == [429, 200]


async def test_async_web_client_sees_an_outage(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)
    assert (await client.auth_test())["ok"]
    await asyncio.to_thread(fake_slack.down, "refuse")
    with pytest.raises(aiohttp.ClientConnectionError):
        await client.auth_test()
    await asyncio.to_thread(fake_slack.up)
    assert (await client.auth_test())["ok"]


async def test_aiohttp_socket_mode_client_gets_a_click_and_acks(fake_slack: FakeSlack) -> None:
    web = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.base_url)
    requests: asyncio.Queue[SocketModeRequest] = asyncio.Queue()

    async def on_request(socket: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        await socket.send_socket_mode_response(SocketModeResponse(request.envelope_id))
        await requests.put(request)

    client = SocketModeClient(app_token=fake_slack.app_token, web_client=web, ping_interval=1)
    client.socket_mode_request_listeners.append(on_request)
    try:
        await client.connect()  # type: ignore[no-untyped-call]
        await fake_slack.until(lambda log: log.connections(), timeout=WAIT)
        posted = await web.chat_postMessage(
            channel=APPROVALS.id,
            text="Approve?",
            blocks=[
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "neon_approve",
                            "value": "apr_9",
                            "text": {"type": "plain_text", "text": "Approve"},
                        }
                    ],
                }
            ],
        )
        envelope_id = await asyncio.to_thread(
            fake_slack.click,
            channel=APPROVALS.id,
            ts=posted["ts"],
            action_id="neon_approve",
            user=ALICE.id,
        )
        request = await asyncio.wait_for(requests.get(), WAIT)
        assert request.envelope_id == envelope_id
        assert request.payload["actions"][0]["value"] == "apr_9"
        await fake_slack.until(lambda log: log.acks(envelope_id), timeout=WAIT)

        await asyncio.to_thread(fake_slack.send_disconnect, "refresh_requested")
        await fake_slack.until(
            lambda log: [c.id for c in log.connections() if c.open] == [2], timeout=WAIT
        )
        again = await asyncio.to_thread(
            fake_slack.slash_command, "/neon", "status", user=ALICE.id, channel=APPROVALS.id
        )
        assert (await asyncio.wait_for(requests.get(), WAIT)).envelope_id == again
    finally:
        await client.close()  # type: ignore[no-untyped-call]


async def test_a_socket_mode_url_works_once(fake_slack: FakeSlack) -> None:
    web = AsyncWebClient(token=fake_slack.app_token, base_url=fake_slack.base_url)
    url = (await web.apps_connections_open(app_token=fake_slack.app_token))["url"]
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url) as socket:
            hello = await socket.receive_json(timeout=WAIT)
            assert hello["type"] == "hello"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
        assert refused.value.status == 401
