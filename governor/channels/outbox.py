"""Sending ``deliveries``: webhook, email and Teams messages, in order, retried, at least once.

Why one sender for three channels: the rules are the same (recorded before sending, in id
order per (channel, destination), claimed before the request, retried with backoff) and
only the last step differs (``WebhookTransport``, ``EmailTransport``, ``TeamsTransport``).

Retries: a 429 waits ``Retry-After``; a transient error (5xx, 408, timeouts, refused
connections, an SMTP 4xx) backs off exponentially, capped; a permanent one (another 4xx,
an SMTP 5xx, a destination gone from the config) gives up after ``MAX_PERMANENT_TRIES``
tries and says so in the log, and the destination's next message goes.

Crashes: none of these servers can be asked whether a message arrived, so a row left
``uncertain`` by a crash is sent again with the same id (the webhook document's ``id``
and ``X-Neon-Governor-Delivery``, the email's Message-ID, the card's footer): delivery is
at-least-once with a dedupe id, never lost and never silently doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import httpx

from governor.channels.base import Contacts, owner_contacts
from governor.channels.email import EmailTransport
from governor.channels.teams import TeamsTransport
from governor.channels.transport import DeliveryError
from governor.channels.webhook import WebhookTransport
from governor.config import Config
from governor.secrets import SecretError
from governor.store import Store, deliveries
from governor.store.deliveries import ChannelHealth, Delivery

logger = logging.getLogger("governor.channels.outbox")
MAX_PERMANENT_TRIES = 3
BACKOFF_CAP = timedelta(minutes=15)
HTTP_TIMEOUT_SECONDS = 30.0
CHANNELS = ("webhook", "email", "teams")


class Transport(Protocol):
    async def send(self, delivery: Delivery, *, now: datetime) -> None: ...


def backoff(tries: int) -> timedelta:
    """2, 4, 8 ... seconds after the 1st, 2nd, 3rd failed try, at most ``BACKOFF_CAP``."""
    return min(BACKOFF_CAP, timedelta(seconds=2 ** min(max(tries, 1), 12)))


class DeliverySender:
    """Sends what is due in ``deliveries``; build one per process (or daemon generation).

    ``transport``: the HTTP transport for webhook and Teams (tests: default); ``ssl_context``:
    whom SMTP over TLS trusts (default: the system's CAs).
    """

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Callable[[], datetime],
        *,
        config_dir: Path | None = None,
        contacts: Contacts | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config, self.store, self.clock, self.sleep = config, store, clock, sleep
        self._monotonic = monotonic
        self._http = httpx.AsyncClient(
            transport=transport, timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=False
        )
        contacts = contacts or owner_contacts(config, config_dir)
        self.transports: dict[str, Transport] = {
            "webhook": WebhookTransport(config, self._http, config_dir=config_dir),
            "email": EmailTransport(config.email, config_dir=config_dir, ssl_context=ssl_context),
            "teams": TeamsTransport(config, self._http, contacts, config_dir=config_dir),
        }

    def monotonic(self) -> float:
        return self._monotonic() if self._monotonic else asyncio.get_running_loop().time()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send_due(self) -> int:
        """One pass over what is due now; returns how many messages went out."""
        sent = 0
        for delivery in await self.store.run(deliveries.due, now=self.clock()):
            if await self._send(delivery):
                sent += 1
        return sent

    async def run(
        self,
        stopping: asyncio.Event,
        *,
        idle_seconds: float = 1.0,
        after_pass: Callable[[dict[str, ChannelHealth]], None] | None = None,
    ) -> None:
        """Send until ``stopping``; ``after_pass`` hears the outbox's health after each pass."""
        try:
            while not stopping.is_set():
                try:
                    await self.send_due()
                    if after_pass is not None:
                        after_pass(await self.store.run(deliveries.health))
                except Exception:  # the store or a server broke: log, keep the loop alive
                    logger.exception("sending webhook/email/Teams deliveries failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), timeout=idle_seconds)
        finally:
            await self.aclose()

    async def flush(self, *, deadline_seconds: float) -> bool:
        """Send until nothing is pending or the deadline passes; True when nothing is left."""
        end = self.monotonic() + deadline_seconds
        while self.monotonic() < end:
            if not await self.store.run(deliveries.due, now=self.clock()):
                if not await self.store.run(deliveries.pending_count):
                    return True
                await self.sleep(min(1.0, max(0.0, end - self.monotonic())))
                continue
            await self.send_due()
        return not await self.store.run(deliveries.pending_count)

    async def _send(self, delivery: Delivery) -> bool:
        if not await self.store.run(deliveries.claim, delivery.id, now=self.clock()):
            return False
        tries = delivery.attempts + 1
        if delivery.uncertain:
            logger.info(
                "%s delivery %d to %s: an earlier send was cut off; sending it again with "
                "the same id (receivers drop an id they have seen)",
                delivery.channel,
                delivery.id,
                delivery.destination,
            )
        transport = self.transports.get(delivery.channel)
        try:
            if transport is None:
                raise DeliveryError(f"unknown channel {delivery.channel}", permanent=True)
            await transport.send(delivery, now=self.clock())
        except DeliveryError as error:
            await self._not_sent(delivery, error, tries)
            return False
        except SecretError as error:  # fixable by whoever runs us: keep it, back off
            await self._not_sent(delivery, DeliveryError(str(error)), tries)
            return False
        await self.store.run(deliveries.sent, delivery.id, now=self.clock())
        return True

    async def _not_sent(self, delivery: Delivery, error: DeliveryError, tries: int) -> None:
        text = str(error)
        now = self.clock()
        if error.retry_after is not None:
            logger.warning("%s; delivery %d waits %.0f s", text, delivery.id, error.retry_after)
            at = now + timedelta(seconds=error.retry_after)
            await self.store.run(deliveries.retry_later, delivery.id, error=text, at=at)
            return
        give_up = error.permanent and tries >= MAX_PERMANENT_TRIES
        if give_up:
            logger.error(
                "%s delivery %d (%s to %s) refused %d times, giving up: %s",
                delivery.channel,
                delivery.id,
                delivery.kind,
                delivery.destination,
                tries,
                text,
            )
        else:
            logger.warning("%s; delivery %d retries later", text, delivery.id)
        await self.store.run(
            deliveries.retry_later,
            delivery.id,
            error=text,
            at=now + backoff(tries),
            give_up=give_up,
        )


async def flush_deliveries(
    sender: DeliverySender | None, *, deadline_seconds: float = 30.0
) -> bool:
    """One-shot commands: send what this run queued, within ``deadline_seconds``; the rest
    waits in the store for the next command or the daemon. Never raises for a server's or
    the store's trouble (the rows are kept); True when nothing is left."""
    if sender is None:
        return True
    try:
        flushed = await sender.flush(deadline_seconds=deadline_seconds)
    except Exception:
        logger.exception("sending webhook/email/Teams deliveries failed; they wait in the store")
        flushed = False
    finally:
        await sender.aclose()
    if not flushed:
        logger.warning(
            "webhook/email/Teams did not take every message within %.0f s; they wait in the "
            "store and go out with the next audit or the daemon",
            deadline_seconds,
        )
    return flushed
