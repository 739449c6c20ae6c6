"""Counting every HTTP attempt to Neon at the transport, below the client's retry loop.

Why here: the transport sees each attempt (retried ones included) with its real status,
and needs no change to the request loop. What it cannot see is whether the client will
try again, so a "retry" here is an attempt that ended in a status or error the client
retries on some path: 423, 429, any 5xx, or a transport error (reason: its class name,
e.g. ``ConnectError``, ``ReadTimeout``). A mutation that got a 500 is counted too, though
the client does not retry it; and the last failed attempt of a request counts as well.
"""

from __future__ import annotations

from typing import Protocol

import httpx

from governor.observability.routes import route_template


class RequestObserver(Protocol):
    """What the transport reports to (``Metrics``); a protocol, so no import cycle."""

    def observe_request(self, route: str, status: str, *, account: str) -> None: ...

    def observe_retry(self, reason: str, *, account: str) -> None: ...


RETRIED_STATUSES = frozenset({423, 429})


def retry_reason(status: int) -> str | None:
    """The ``reason`` label for a status the client may retry on, else None."""
    if status in RETRIED_STATUSES or 500 <= status <= 599:
        return str(status)
    return None


class MetricsTransport(httpx.AsyncBaseTransport):
    """Wraps ``inner``; counts each response by route template, status and account.

    One per account (the account is the label), all around one shared ``inner``: closing
    any of them closes the shared pool, as the clients sharing one transport always did.
    """

    def __init__(
        self, inner: httpx.AsyncBaseTransport, metrics: RequestObserver, *, account: str
    ) -> None:
        self._inner = inner
        self._metrics = metrics
        self.account = account

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        route = route_template(request.method, request.url.path)
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as error:
            self._metrics.observe_request(route, "error", account=self.account)
            self._metrics.observe_retry(type(error).__name__, account=self.account)
            raise
        self._metrics.observe_request(route, str(response.status_code), account=self.account)
        reason = retry_reason(response.status_code)
        if reason is not None:
            self._metrics.observe_retry(reason, account=self.account)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
