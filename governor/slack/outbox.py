"""Sending the outbox: in order per channel, posts about one a second, each exactly once.

Why one message at a time, re-reading what is due after each: an approver's click queues
its feedback (the clicked message's update, an ephemeral reply) at priority 1, and it must
go next, not after a batch of bulk posts read before the click. ``wakeup`` (set by
``SlackService.wake``) ends any wait at once. Only chat.postMessage is held to Slack's
one message per second per channel ("special" tier); chat.update (Tier 3) and
chat.postEphemeral are not paced by us (the SDK's 429 handler is the safety net).

Why a sender of our own around slack_sdk: Slack being slow or down must never hold up a
sweep or a remediation, so messages wait in the store and go out when Slack answers. A
send is claimed (``uncertain``) before the request; after a crash the sender looks for
the message in the channel (by the outbox id in its metadata) before posting it again, so
a message is never posted twice. A 429 waits ``Retry-After``; a transient error backs
off; a permanent one (channel not found, invalid blocks) gives up after a few tries and
says so in the log, without blocking the channel's later messages for good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from governor.slack.redact import sdk_logger
from governor.store import Store
from governor.store import slack as slack_table
from governor.store.slack import OutboxMessage

logger = logging.getLogger("governor.slack.outbox")
METADATA_EVENT = "neon_governor_outbox"
WEBHOOK_CHANNEL = "webhook"  # the outbox's channel for [slack] webhook_url (report-only)
PER_CHANNEL_SECONDS = 1.0  # chat.postMessage: about one message per second per channel
PACED_KINDS = frozenset({"post"})  # the only kind Slack holds to one a second per channel
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "invalid_blocks",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "msg_too_long",
        "cant_update_message",
        "message_not_found",
        "is_archived",
        "user_not_in_channel",
    }
)
MAX_PERMANENT_ATTEMPTS = 3
BACKOFF_CAP = timedelta(minutes=5)


class OutboxSender:
    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] | None = None,
        interval: float = PER_CHANNEL_SECONDS,
        webhook_url: str | None = None,
        wakeup: asyncio.Event | None = None,
    ) -> None:
        self.store, self.client, self.clock, self.sleep = store, client, clock, sleep
        self.interval = interval
        self.wakeup = wakeup  # set when feedback is queued: stop waiting, read what is due
        self.webhook = (
            AsyncWebhookClient(webhook_url, logger=sdk_logger("webhook")) if webhook_url else None
        )
        self._monotonic = monotonic or asyncio.get_running_loop().time
        self._last_sent: dict[str, float] = {}

    async def send_due(
        self, *, until: float | None = None, stopping: asyncio.Event | None = None
    ) -> int:
        """Send until nothing is due now (or the monotonic time ``until``, or the stop),
        one message at a time, re-reading what is due after each send (feedback queued
        meanwhile goes next); returns how many went out."""
        sent = 0
        while until is None or self._monotonic() < until:
            if stopping is not None and stopping.is_set():
                break
            if self.wakeup is not None:
                self.wakeup.clear()  # what is read below includes whatever woke us
            due = await self.store.run(slack_table.due, now=self.clock())
            if not due:
                return sent
            ready = next((m for m in due if self._pacing_wait(m) <= 0), None)
            if ready is None:  # only posts to channels that just had one: wait the least
                wait = min(self._pacing_wait(m) for m in due)
                if until is not None:
                    wait = min(wait, until - self._monotonic())
                await self._pause(wait)
                continue
            if await self._send(ready):
                sent += 1
            if ready.kind in PACED_KINDS:
                self._last_sent[ready.channel] = self._monotonic()
        return sent

    def _pacing_wait(self, message: OutboxMessage) -> float:
        if message.kind not in PACED_KINDS:
            return 0.0
        last = self._last_sent.get(message.channel, -1e9)
        return self.interval - (self._monotonic() - last)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when feedback is queued meanwhile."""
        if self.wakeup is None:
            await self.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wakeup.wait(), timeout=max(seconds, 0.0))

    async def run(self, stopping: asyncio.Event, *, idle_seconds: float = 1.0) -> None:
        while not stopping.is_set():
            try:
                await self.send_due(stopping=stopping)
            except Exception:  # the store or the client broke: log, keep the loop alive
                logger.exception("sending the Slack outbox failed; retrying")
            await self._idle(stopping, idle_seconds)

    async def _idle(self, stopping: asyncio.Event, seconds: float) -> None:
        """Until the next look: ``seconds``, the stop, or a wake-up, whichever is first."""
        waits = [asyncio.ensure_future(stopping.wait())]
        if self.wakeup is not None:
            waits.append(asyncio.ensure_future(self.wakeup.wait()))
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def flush(self, *, deadline_seconds: float) -> bool:
        """Send until nothing is due or the deadline passes; True when nothing is left."""
        end = self._monotonic() + deadline_seconds
        while self._monotonic() < end:
            if not await self.store.run(slack_table.due, now=self.clock()):
                pending = [
                    m for m in await self.store.run(slack_table.outbox) if m.state == "pending"
                ]
                if not pending:
                    return True
                await self.sleep(min(1.0, max(0.0, end - self._monotonic())))
                continue
            await self.send_due(until=end)
        return False

    # One message ----------------------------------------------------------------------

    async def _send(self, message: OutboxMessage) -> bool:
        was_uncertain = message.uncertain
        if not await self.store.run(slack_table.claim, message.id, now=self.clock()):
            return False
        try:
            if was_uncertain and message.kind == "post" and message.channel != WEBHOOK_CHANNEL:
                found = await self._find_posted(message)
                if found is not None:
                    await self.store.run(
                        slack_table.sent,
                        message.id,
                        ts=found,
                        channel=message.channel,
                        now=self.clock(),
                    )
                    return True
            ts, channel = await self._deliver(message)
        except SlackApiError as error:
            await self._failed(message, error)
            return False
        except WebhookRateLimited as limited:
            wait = _retry_after(limited)
            await self.store.run(
                slack_table.retry_later,
                message.id,
                error="ratelimited",
                at=self.clock() + timedelta(seconds=wait),
            )
            return False
        except (SlackClientError, OSError, TimeoutError) as error:
            await self._retry(
                message, f"{type(error).__name__}: {error}", attempts=message.attempts
            )
            return False
        await self.store.run(slack_table.sent, message.id, ts=ts, channel=channel, now=self.clock())
        return True

    async def _deliver(self, message: OutboxMessage) -> tuple[str, str]:
        payload = message.payload
        if message.channel == WEBHOOK_CHANNEL:
            return await self._deliver_by_webhook(message)
        parent = None
        if message.parent_id is not None:
            parent = await self.store.run(slack_table.message, message.parent_id)
        if message.kind == "post":
            thread_ts = parent.sent_ts if parent is not None else None
            response = await self.client.chat_postMessage(
                channel=message.channel,
                text=str(payload.get("text", "")),
                blocks=payload.get("blocks"),
                thread_ts=thread_ts,
                metadata={
                    "event_type": METADATA_EVENT,
                    "event_payload": {"outbox_id": message.id},
                },
                unfurl_links=False,
                unfurl_media=False,
            )
            return str(response["ts"]), str(response.get("channel") or message.channel)
        if message.kind == "update":
            if parent is None or parent.sent_ts is None:
                raise SlackClientError("the message to update was never posted")
            channel = parent.sent_channel or parent.channel
            await self.client.chat_update(
                channel=channel,
                ts=parent.sent_ts,
                text=str(payload.get("text", "")),
                blocks=payload.get("blocks", []),
            )
            return parent.sent_ts, channel
        if message.kind == "file":
            alone = parent is not None and parent.state in ("failed", "cancelled")
            if not alone and (parent is None or parent.sent_ts is None):
                raise SlackClientError("the message to thread the file under was never posted")
            # its report was refused for good: the file goes to the channel on its own
            channel = (
                message.channel
                if alone or parent is None
                else (parent.sent_channel or parent.channel)
            )
            thread_ts = None if alone or parent is None else parent.sent_ts
            await self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                filename=str(payload.get("filename", "findings.csv")),
                content=str(payload.get("content", "")),
                title=str(payload.get("title", "Neon findings")),
            )
            return thread_ts or "", channel
        response = await self.client.chat_postEphemeral(
            channel=message.channel,
            user=str(payload.get("user", "")),
            text=str(payload.get("text", "")),
            blocks=payload.get("blocks"),
        )
        return str(response.get("message_ts") or ""), message.channel

    async def _deliver_by_webhook(self, message: OutboxMessage) -> tuple[str, str]:
        """A webhook takes posts only (no thread, no file, no update): the rest is dropped."""
        if self.webhook is None:
            raise SlackClientError("no webhook_url is configured for this message")
        if message.kind != "post":
            return "", WEBHOOK_CHANNEL
        payload = message.payload
        response = await self.webhook.send(
            text=str(payload.get("text", "")), blocks=payload.get("blocks")
        )
        if response.status_code == 429:
            raise WebhookRateLimited(response.headers)
        if response.status_code != 200:
            raise SlackClientError(f"the webhook answered {response.status_code}: {response.body}")
        return "", WEBHOOK_CHANNEL

    async def _find_posted(self, message: OutboxMessage) -> str | None:
        """The ts of the message if an earlier, interrupted send did post it."""
        created = datetime.fromisoformat(message.created_at)
        response = await self.client.conversations_history(
            channel=message.channel,
            oldest=str(created.timestamp() - 60),
            include_all_metadata=True,
            limit=200,
        )
        for item in response.get("messages") or []:
            metadata = item.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and payload.get("outbox_id") == message.id
            ):
                return str(item.get("ts"))
        return None

    async def _failed(self, message: OutboxMessage, error: SlackApiError) -> None:
        response: Any = error.response
        code = str(response.get("error") if response is not None else "") or "error"
        status = getattr(response, "status_code", 0)
        if status == 429 or code == "ratelimited":
            retry_after = _retry_after(response)
            await self.store.run(
                slack_table.retry_later,
                message.id,
                error=code,
                at=self.clock() + timedelta(seconds=retry_after),
            )
            return
        if code in PERMANENT:
            give_up = message.attempts >= MAX_PERMANENT_ATTEMPTS
            if give_up:
                logger.error(
                    "Slack refused outbox message %s (%s %s): %s; giving up",
                    message.id,
                    message.kind,
                    message.channel,
                    code,
                )
            await self.store.run(
                slack_table.retry_later,
                message.id,
                error=code,
                at=self.clock() + _backoff(message.attempts),
                give_up=give_up,
            )
            return
        await self._retry(message, code, attempts=message.attempts)

    async def _retry(self, message: OutboxMessage, error: str, *, attempts: int) -> None:
        logger.warning("Slack outbox message %s not sent (%s); retrying later", message.id, error)
        await self.store.run(
            slack_table.retry_later, message.id, error=error, at=self.clock() + _backoff(attempts)
        )


class WebhookRateLimited(Exception):
    def __init__(self, headers: Any) -> None:
        super().__init__("the webhook answered 429")
        self.headers = headers


def _retry_after(response: Any) -> float:
    headers = getattr(response, "headers", None) or {}
    for name, value in dict(headers).items():
        if str(name).lower() == "retry-after":
            try:
                return min(max(float(value), 1.0), 300.0)
            except (TypeError, ValueError):
                break
    return 30.0


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_CAP, timedelta(seconds=2 ** min(max(attempts, 0), 10)))
