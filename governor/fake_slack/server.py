"""The fake's own event loop in a background thread, and ports that can close and reopen.

Why a thread with its own loop: the fake must serve while the test's thread blocks in a
synchronous WebClient call or a SocketModeClient wait, and while an asyncio test runs its
own loop; neither may have to drive the fake. Why a listener that can stop: "Slack is
down" as connection refused means the port really closes, and comes back on the same
port so the client's base_url stays valid.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "fake-slack") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the fake's loop from any other thread and wait for it."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)


class Listener:
    """One aiohttp application on one port."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.host = host
        self.port = port
        # Quick to stop: an in-flight request gets a second, idle keep-alives none.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        self._site: web.TCPSite | None = None

    async def start(self) -> None:
        await self._runner.setup()
        await self.listen()

    async def listen(self) -> None:
        if self._site is not None:
            return
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._site = site
        self.port = self._runner.addresses[-1][1]  # the OS's pick when port was 0

    async def unlisten(self) -> None:
        """Close the listening socket: new connections are refused from now on."""
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def stop(self) -> None:
        await self._runner.cleanup()
        self._site = None
