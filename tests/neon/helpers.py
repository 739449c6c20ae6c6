"""Shared bits for the client tests: a secret-looking key, fast clients, pass-through transports
(around the client's own ``NeonTransport``, the one a client uses by default)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx

from governor.neon.client import NeonClient
from governor.neon.transport import NeonTransport
from governor.simulator import Simulator
from tests.neon.virtual_time import VirtualClock

SECRET_KEY = "napi_0123456789abcdefghijklmnopqrstuvwxyz_secret"
PERSONAL_SIM_KEY = "sim-personal-key"  # the generated worlds' personal key


def fast_client(base_url: str, api_key: str = SECRET_KEY, **overrides: Any) -> NeonClient:
    """A client whose pacing and backoff stay out of the way of correctness tests."""
    options: dict[str, Any] = {
        "requests_per_minute": 60_000,
        "requests_per_second_per_route": 1_000,
        "backoff_base_seconds": 0.001,
        "backoff_cap_seconds": 0.01,
        "max_attempts": 4,
        "timeout_seconds": 5.0,
    }
    options.update(overrides)
    return NeonClient(api_key, base_url=base_url, **options)


class RecordingTransport(httpx.AsyncBaseTransport):
    """Real sockets; remembers every request the client sent (URL, headers, body)."""

    def __init__(self) -> None:
        self._inner = NeonTransport()
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.sent.append(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class FailingFirstTransport(httpx.AsyncBaseTransport):
    """Real sockets, except that the first ``failures`` attempts raise ``error``."""

    def __init__(self, error: type[httpx.TransportError], failures: int = 1) -> None:
        self._inner = NeonTransport()
        self._error = error
        self._failures = failures

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._failures > 0:
            self._failures -= 1
            raise self._error("simulated network failure", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def operation_json(operation_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": operation_id,
        "project_id": "wispy-bird-12345678",
        "action": "suspend_compute",
        "status": status,
        "failures_count": 0,
        "created_at": "2026-11-27T12:00:00Z",
        "updated_at": "2026-11-27T12:00:01Z",
        "total_duration_ms": 10,
        **extra,
    }


class FaultyTransport(httpx.AsyncBaseTransport):
    """Real sockets, except requests matching ``broken`` get ``status`` without reaching
    the server: a project (or listing) that Neon cannot serve, for as long as the test."""

    def __init__(self, broken: Callable[[httpx.Request], bool], status: int = 500) -> None:
        self._inner = NeonTransport()
        self._broken = broken
        self._status = status
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._broken(request):
            self.refused += 1
            return httpx.Response(
                self._status,
                json={
                    "code": "",
                    "message": "simulated outage",
                    "request_id": request.headers.get("X-Request-ID", ""),
                },
                request=request,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def touches_project(project_id: str) -> Callable[[httpx.Request], bool]:
    return lambda request: request.url.path.split("/")[4:5] == [project_id]


def virtual_client(
    simulator: Simulator, clock: VirtualClock, *, seed: int = 1, **overrides: Any
) -> NeonClient:
    """A fast client talking to ``simulator`` in process, in ``clock``'s virtual time.

    Why: with no sockets and no real sleeps, no time passes between two requests unless
    the client sleeps, so what a test sees cannot depend on the machine's speed. The
    simulator must share ``clock`` (``Simulator(..., clock=clock)``).
    """
    options: dict[str, Any] = {
        "transport": simulator.transport(),
        "clock": clock,
        "sleep": clock.sleep,
        "random_fraction": random.Random(seed).random,
    }
    options.update(overrides)
    return fast_client("http://simulator.invalid/api/v2", PERSONAL_SIM_KEY, **options)
