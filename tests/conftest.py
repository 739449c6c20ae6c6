"""Shared fixtures: the anyio backend, the official spec, and a simulator served on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import pytest

from governor.simulator import Simulator, SimulatorOptions, World, serve
from tests.openapi import load_spec, spec_available

# A fixed "now" for generated worlds, so tests see the same world every run.
WORLD_NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def spec() -> dict[str, Any]:
    """Neon's official OpenAPI document from ../shared; tests using it skip when absent."""
    if not spec_available():
        pytest.skip("the Neon OpenAPI spec (../shared/neon-openapi) is not available")
    return load_spec()


ServedSimulator = tuple[Simulator, str]


@pytest.fixture
def served_simulator() -> Iterator[Callable[..., ServedSimulator]]:
    """Factory: ``served_simulator(world=None, options=None, **simulator_kwargs)`` serves a
    Simulator on a free loopback port and returns ``(simulator, base_url)``; every server
    stops when the test ends. The default world is ``World.generate(seed=1, now=WORLD_NOW)``
    and the default options disable rate limits and faults."""
    with ExitStack() as stack:

        def start(
            world: World | None = None,
            options: SimulatorOptions | None = None,
            **simulator_kwargs: Any,
        ) -> ServedSimulator:
            simulator_kwargs.setdefault("now", lambda: WORLD_NOW)
            simulator = Simulator(
                world if world is not None else World.generate(seed=1, now=WORLD_NOW),
                options
                or SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None),
                **simulator_kwargs,
            )
            base_url = stack.enter_context(serve(simulator))
            return simulator, base_url

        yield start
