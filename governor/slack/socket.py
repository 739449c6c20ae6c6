"""The Socket Mode connection: acknowledge within Slack's 3 seconds, then decide.

Why ack first: Slack retries an envelope it has no ``envelope_id`` for within 3 s, and
the decision may read the store and Slack's user groups. A redelivered envelope (same
``envelope_id``) is acknowledged again and otherwise ignored; a second click on the same
button is a new envelope, and the state machine makes it change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from governor.slack.interactions import Interaction, InteractionError, bounded, parse
from governor.slack.redact import sdk_logger

logger = logging.getLogger("governor.slack.socket")
REMEMBERED_ENVELOPES = 2000
# (envelope type, envelope id, payload, why): a refused envelope, for the audit log
Refused = Callable[[str, str, Any, str], Coroutine[Any, Any, None]]


class SocketConnection:
    def __init__(
        self,
        app_token: str,
        web_client: AsyncWebClient,
        handle: Callable[[Interaction], Coroutine[Any, Any, Any]],
        *,
        ping_interval: float = 5.0,
        refused: Refused | None = None,
    ) -> None:
        self._app_token, self._web, self._handle = app_token, web_client, handle
        self._refused = refused
        self._ping_interval = ping_interval
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.client: SocketModeClient | None = None

    async def run(self, stopping: asyncio.Event) -> None:
        """Connected until ``stopping`` is set (slack_sdk reconnects on its own)."""
        client = SocketModeClient(
            app_token=self._app_token,
            web_client=self._web,
            ping_interval=self._ping_interval,
            logger=sdk_logger("socket"),
        )
        client.socket_mode_request_listeners.append(self._listener)  # type: ignore[arg-type]
        self.client = client
        try:
            await client.connect()
            await stopping.wait()
        finally:
            with contextlib.suppress(Exception):  # a close racing a reconnect (notes §1.3)
                await client.close()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)

    async def _listener(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.envelope_id in self._seen:
            logger.info("envelope %s delivered again; ignored", request.envelope_id)
            return
        self._seen[request.envelope_id] = None
        while len(self._seen) > REMEMBERED_ENVELOPES:
            self._seen.popitem(last=False)
        try:
            interaction = parse(request.type, request.payload)
        except InteractionError as error:
            logger.warning(
                "refused a Slack %s envelope: %s", bounded(request.type, 32), bounded(error, 200)
            )
            if self._refused is not None:
                self._start(
                    self._refused(request.type, request.envelope_id, request.payload, str(error))
                )
            return
        self._start(self._handle(interaction))

    def _start(self, work: Coroutine[Any, Any, Any]) -> None:
        task: asyncio.Task[Any] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("handling a Slack interaction failed", exc_info=task.exception())
