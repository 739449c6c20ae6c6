"""The simulator as an in-process httpx transport: no sockets, same answers as ``serve``."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

import anyio
import httpx

if TYPE_CHECKING:
    from governor.simulator.simulator import Simulator


class SimulatorTransport(httpx.AsyncBaseTransport):
    """Routes every request to the simulator; latency is slept with the event loop's sleep."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        raw_query = request.url.query.decode("ascii")
        query = parse_qs(raw_query, keep_blank_values=True)
        ticket = self.simulator.admit(
            request.method, request.url.path, query, request.headers, body, raw_query=raw_query
        )
        if ticket.delay_seconds > 0:
            await anyio.sleep(ticket.delay_seconds)
        answer = self.simulator.answer(ticket)
        headers = dict(answer.headers)
        if self.simulator.options.date_header:  # as the server
            headers = {"Date": self.simulator.date_header(), **headers}
        return httpx.Response(answer.status, headers=headers, content=answer.body, request=request)
