"""The consumption read's work: what it asks Neon for and what it writes, so a re-read of
the same window costs its new rows, not the history, and branches carry only what is read."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from governor.model.consumption import BRANCH_READ_METRICS
from governor.neon.client import NeonClient
from governor.pipeline.consumption import BRANCH_PAGE_BRANCHES, hourly_window, read_org
from governor.simulator import Simulator, SimulatorOptions, World
from governor.store import Store
from governor.store import consumption as meters
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import RecordingTransport, fast_client

Serve = Callable[..., ServedSimulator]
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


def _changes(connection: sqlite3.Connection) -> int:
    return connection.total_changes


def _branch_metrics(connection: sqlite3.Connection) -> set[str]:
    found = connection.execute(
        "SELECT DISTINCT metric FROM consumption_buckets WHERE branch_id != ''"
    ).fetchall()
    return {metric for (metric,) in found}


async def _read_twice(served_simulator: Serve, tmp_path: Path) -> dict[str, Any]:
    simulator, base_url = served_simulator(
        World.generate(seed=3, orgs=1, projects=10, branches=40, now=WORLD_NOW), NO_LIMITS
    )
    org_id = next(iter(simulator.world.organizations_by_id))
    transport = RecordingTransport()
    async with (
        fast_client(base_url, "sim-personal-key", transport=transport) as client,
        await Store.open_async(tmp_path / "g.db") as store,
    ):
        client.use_consumption_budget(60_000)
        first = await read_org(client, store, org_id, now=WORLD_NOW)
        before = await store.run(_changes)
        second = await read_org(client, store, org_id, now=WORLD_NOW)
        changes = await store.run(_changes) - before
        metrics = await store.run(_branch_metrics)
    return {
        "first": first,
        "second": second,
        "changes": changes,
        "branch_metrics": metrics,
        "urls": [str(request.url) for request in transport.sent],
    }


@pytest.mark.anyio
async def test_a_second_read_of_the_same_window_rewrites_no_row(
    served_simulator: Serve, tmp_path: Path
) -> None:
    """Before: each re-read of the last 168 hours rewrote every row it carried."""
    found = await _read_twice(served_simulator, tmp_path)
    first, second = found["first"], found["second"]
    assert (first.outcome, second.outcome) == ("ok", "ok")
    assert first.rows == second.rows > 0
    assert first.written == first.rows
    assert second.written == 0
    assert found["changes"] == 3  # the three reads recorded, and no bucket


@pytest.mark.anyio
async def test_branch_reads_ask_only_for_the_meters_something_reads(
    served_simulator: Serve, tmp_path: Path
) -> None:
    """Before: v2/branches was asked for all six metrics, transfer included, which nothing
    reads per branch (the bill prices transfer from the project rows)."""
    found = await _read_twice(served_simulator, tmp_path)
    asked = [url for url in found["urls"] if "/consumption_history/v2/branches" in url]
    assert asked
    expected = "metrics=" + "%2C".join(BRANCH_READ_METRICS)
    assert all(expected in url for url in asked)
    assert found["branch_metrics"] <= set(BRANCH_READ_METRICS)
    assert "public_network_transfer_bytes" not in found["branch_metrics"]


@pytest.mark.anyio
async def test_a_branch_page_is_asked_small_enough_to_decode_within_the_memory_bound(
    served_simulator: Serve, tmp_path: Path
) -> None:
    """Before: 1,000 branches a page, 168 hours each: ~260 MB while one page was decoded."""
    found = await _read_twice(served_simulator, tmp_path)
    asked = [url for url in found["urls"] if "/consumption_history/v2/branches" in url]
    assert asked
    assert all(f"limit={BRANCH_PAGE_BRANCHES}" in url for url in asked)
    assert BRANCH_PAGE_BRANCHES <= 250


class _HourLater(httpx.AsyncBaseTransport):
    """The simulator's transport; its clock moves an hour on when branches are first asked."""

    def __init__(self, inner: httpx.AsyncBaseTransport, moment: list[datetime]) -> None:
        self.inner = inner
        self.moment = moment

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/v2/branches" in request.url.path and self.moment[0] == WORLD_NOW:
            self.moment[0] = WORLD_NOW + timedelta(hours=1)
        return await self.inner.handle_async_request(request)


@pytest.mark.anyio
async def test_branches_are_read_when_neons_clock_passed_an_hour_since_the_projects(
    tmp_path: Path,
) -> None:
    """Before: the branch read kept the projects' 168-hour window, Neon refused it (406)
    once its clock had passed the next hour, and no branch was read: likely at large
    accounts, whose read takes minutes at 30 requests a minute."""
    world = World.generate(seed=3, orgs=1, projects=6, branches=20, now=WORLD_NOW)
    moment = [WORLD_NOW]
    simulator = Simulator(world, NO_LIMITS, now=lambda: moment[0])
    org_id = next(iter(world.organizations_by_id))
    async with (
        NeonClient(
            "sim-personal-key",
            base_url="http://simulator.invalid/api/v2",
            transport=_HourLater(simulator.transport(), moment),
            requests_per_minute=60_000,
            requests_per_second_per_route=1_000,
        ) as client,
        await Store.open_async(tmp_path / "g.db") as store,
    ):
        client.use_consumption_budget(60_000)
        read = await read_org(client, store, org_id, now=WORLD_NOW)
        recorded = await store.run(meters.reads, org_id=org_id, scope="branches")
    assert moment[0] == WORLD_NOW + timedelta(hours=1)
    assert read.outcome == "ok"
    assert [(row.outcome, row.start) for row in recorded] == [
        ("ok", hourly_window(WORLD_NOW, 167)[0])
    ]
    assert recorded[0].rows > 0
