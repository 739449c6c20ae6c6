"""Fixtures for simulator tests: a settable clock and the tiny world served on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from governor.simulator import Simulator, SimulatorOptions, World
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.simulator.worlds import PERSONAL_TOKEN, tiny_world_data

NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


def timed_options(**changes: Any) -> SimulatorOptions:
    """No limits, seed 1, every operation exactly 2 s (0.4 s scheduling, 1.6 s running)."""
    base: dict[str, Any] = {
        "requests_per_minute": None,
        "requests_per_second_per_route": None,
        "operation_seconds": (2.0, 2.0),
        "seed": 1,
    }
    return SimulatorOptions(**(base | changes))


@dataclass
class FakeClock:
    """Monotonic seconds and wall time that move only when a test says so."""

    seconds: float = 1000.0
    start: datetime = WORLD_NOW

    def __call__(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds - 1000.0)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@dataclass
class Api:
    """A spec-level HTTP client for tests: plain httpx over loopback, one token per call."""

    simulator: Simulator
    base_url: str
    clock: FakeClock
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=10.0)

    def call(
        self,
        method: str,
        path: str,
        token: str | None = PERSONAL_TOKEN,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, path, params=params, json=json, headers=all_headers)

    def get(self, path: str, token: str | None = PERSONAL_TOKEN, **params: Any) -> httpx.Response:
        return self.call("GET", path, token, params=params or None)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tiny_api(
    served_simulator: Callable[..., ServedSimulator], clock: FakeClock
) -> Iterator[Callable[..., Api]]:
    """Factory: ``tiny_api(options=NO_LIMITS, world=tiny world)`` served with the fake clock."""
    clients: list[Api] = []

    def start(options: SimulatorOptions = NO_LIMITS, world: World | None = None) -> Api:
        simulator, base_url = served_simulator(
            world or World.from_dict(tiny_world_data()),
            options,
            clock=clock,
            now=clock.now,
        )
        api = Api(simulator, base_url, clock)
        clients.append(api)
        return api

    yield start
    for api in clients:
        api.http.close()
