from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime

import pytest

from governor.neon.pacing import Pacer, full_jitter_seconds, parse_retry_after, window_margin
from tests.neon.virtual_time import SteppingClock, VirtualClock
from tests.neon.windows import max_in_window, max_per_route_in_window

ROUTE = "GET /projects/{project_id}"
OTHER_ROUTE = "GET /projects/{project_id}/endpoints"


def pacer_on(
    clock: SteppingClock | VirtualClock, rpm: int, rps: int, *, smooth: bool = False
) -> Pacer:
    return Pacer(rpm, rps, clock=clock, sleep=clock.sleep, record_history=True, smooth=smooth)


async def paced_instantly(pacer: Pacer, route: str, count: int) -> list[float]:
    released = []
    for _ in range(count):
        permit = await pacer.acquire(route)
        released.append(permit.released_at)
        pacer.done(permit)
    return released


@pytest.mark.anyio
async def test_asked_to_be_smooth_it_spaces_requests_evenly_at_the_nominal_rate() -> None:
    clock = SteppingClock()
    pacer = pacer_on(clock, rpm=600, rps=40, smooth=True)

    released = await paced_instantly(pacer, ROUTE, 50)

    gaps = [later - earlier for earlier, later in itertools.pairwise(released[1:])]
    assert all(gap == pytest.approx(0.1) for gap in gaps)
    assert released[-1] - released[0] == pytest.approx(4.8)


@pytest.mark.anyio
async def test_a_sweep_within_one_minutes_budget_goes_at_the_per_route_burst() -> None:
    clock = VirtualClock()
    pacer = pacer_on(clock, rpm=700, rps=40)
    # A 200-project account: 200 branch lists and 200 compute lists, 16 in flight.
    routes = [ROUTE, OTHER_ROUTE]

    async def sweep_like() -> None:
        slots = asyncio.Semaphore(16)

        async def one(route: str) -> None:
            async with slots:
                permit = await pacer.acquire(route)
                await clock.sleep(0.04)  # the answer comes 40 ms later
                pacer.done(permit)

        await asyncio.gather(*(one(route) for _ in range(200) for route in routes))

    start = clock.now
    await clock.run(sweep_like())

    assert pacer.history is not None
    events = [(request.route, request.released_at) for request in pacer.history]
    assert max_per_route_in_window(events, 1.0) <= 40 - window_margin(40)
    # 200 per route at 39 per (1.05 s + 40 ms): about 5.6 s, not 400 / (700/min) = 34 s.
    elapsed = clock.now - start
    assert elapsed < 1.2 * 200 / 40
    assert elapsed > 200 / 40  # and never faster than the route limit


@pytest.mark.anyio
async def test_a_burst_beyond_one_minutes_budget_waits_for_the_window() -> None:
    clock = VirtualClock()
    rpm = 700
    pacer = pacer_on(clock, rpm=rpm, rps=40)
    routes = [f"GET /route-{index}" for index in range(10)]

    async def burst() -> None:
        for index in range(1000):
            permit = await pacer.acquire(routes[index % len(routes)])
            pacer.done(permit)

    start = clock.now
    await clock.run(burst())

    assert pacer.history is not None
    released = [request.released_at for request in pacer.history]
    assert max_in_window(released, 60.0) <= rpm - window_margin(rpm)
    # The first minute's budget at once, the rest one window later: under the bound.
    assert 60.0 < clock.now - start <= 1000 / (rpm / 60)


@pytest.mark.anyio
async def test_after_a_429_it_spaces_requests_and_bursts_again_once_recovered() -> None:
    clock = SteppingClock()
    pacer = pacer_on(clock, rpm=600, rps=40)
    assert not pacer.spacing

    pacer.rate_limited(released_at=clock.now)
    assert pacer.spacing
    released = await paced_instantly(pacer, ROUTE, 4)
    assert released[-1] - released[-2] == pytest.approx(0.2)  # half of 10/s

    clock.now += 60.0
    pacer.succeeded()
    assert pacer.rate_fraction == 1.0
    assert not pacer.spacing
    again = await paced_instantly(pacer, OTHER_ROUTE, 20)
    assert again[-1] == again[0]  # no spacing: the windows have room


@pytest.mark.anyio
async def test_a_long_run_never_exceeds_the_minute_budget_and_keeps_nearly_the_full_rate() -> None:
    clock = SteppingClock()
    pacer = pacer_on(clock, rpm=120, rps=40)
    requests = 600

    released = await paced_instantly(pacer, ROUTE, requests)

    assert max_in_window(released, 60.0) <= 120 - window_margin(120)
    ideal_seconds = requests / (120 / 60)
    assert released[-1] - released[0] <= 1.03 * ideal_seconds


@pytest.mark.anyio
async def test_each_route_is_capped_per_second_without_holding_up_other_routes() -> None:
    clock = VirtualClock()
    pacer = pacer_on(clock, rpm=6000, rps=10)

    async def both_routes() -> None:
        await asyncio.gather(
            paced_instantly(pacer, ROUTE, 45), paced_instantly(pacer, OTHER_ROUTE, 45)
        )

    start = clock.now
    await clock.run(both_routes())

    assert pacer.history is not None
    events = [(request.route, request.released_at) for request in pacer.history]
    assert max_per_route_in_window(events, 1.0) <= 10 - window_margin(10)
    # 45 per route at 9 per (1 s + slack) take about 5 s; the routes run side by side.
    assert clock.now - start < 6.0


async def run_with_latency(
    clock: VirtualClock, pacer: Pacer, routes: list[str], *, workers: int, each: int
) -> list[tuple[str, float]]:
    """Workers whose requests reach the server 0-0.4 s after release and are answered
    up to 0.2 s later; returns (route, arrival at the server) per request."""
    chance = random.Random(7)
    arrivals: list[tuple[str, float]] = []

    async def worker(index: int) -> None:
        for number in range(each):
            route = routes[(index + number) % len(routes)]
            permit = await pacer.acquire(route)
            await clock.sleep(chance.uniform(0.0, 0.4))
            arrivals.append((route, clock.now))
            await clock.sleep(chance.uniform(0.0, 0.2))
            pacer.done(permit)

    async def all_workers() -> None:
        await asyncio.gather(*(worker(index) for index in range(workers)))

    await clock.run(all_workers())
    return arrivals


@pytest.mark.anyio
async def test_server_route_windows_hold_whatever_the_latency() -> None:
    clock = VirtualClock()
    pacer = pacer_on(clock, rpm=6000, rps=12)

    arrivals = await run_with_latency(clock, pacer, [ROUTE, OTHER_ROUTE], workers=16, each=30)

    assert len(arrivals) == 480
    assert max_per_route_in_window(arrivals, 1.0) <= 12


@pytest.mark.anyio
async def test_server_minute_windows_hold_whatever_the_latency() -> None:
    clock = VirtualClock()
    rpm = 120
    pacer = pacer_on(clock, rpm=rpm, rps=40)
    start = clock.now

    arrivals = await run_with_latency(clock, pacer, [ROUTE, OTHER_ROUTE], workers=8, each=50)

    assert max_in_window([moment for _, moment in arrivals], 60.0) <= rpm
    # ... and a long run still goes at about the full rate.
    assert clock.now - start <= 1.1 * len(arrivals) / (rpm / 60)


@pytest.mark.anyio
async def test_a_request_still_waiting_for_its_answer_counts_against_the_window() -> None:
    clock = VirtualClock()
    pacer = pacer_on(clock, rpm=6000, rps=3)  # two at a time after the margin

    async def scenario() -> float:
        first = await pacer.acquire(ROUTE)
        await pacer.acquire(ROUTE)
        third = asyncio.ensure_future(pacer.acquire(ROUTE))
        await clock.sleep(5.0)
        assert not third.done()
        answered_at = clock.now
        pacer.done(first)
        permit = await third
        return permit.released_at - answered_at

    waited = await clock.run(scenario())

    assert waited >= 1.0


@pytest.mark.anyio
async def test_a_429_halves_the_rate_for_everyone_and_it_recovers_gently() -> None:
    clock = SteppingClock()
    pacer = pacer_on(clock, rpm=600, rps=40)

    before = clock.now
    clock.now += 0.1
    pacer.rate_limited(released_at=before)
    pacer.rate_limited(released_at=before)  # sent at the old rate: the same overload
    assert pacer.rate_fraction == pytest.approx(0.5)
    released = await paced_instantly(pacer, OTHER_ROUTE, 5)
    assert released[-1] - released[-2] == pytest.approx(0.2)

    pacer.rate_limited(released_at=released[-1])  # sent at the new rate: too fast still
    assert pacer.rate_fraction == pytest.approx(0.25)
    pacer.rate_limited()  # origin unknown: at most one decrease per cooldown
    assert pacer.rate_fraction == pytest.approx(0.25)

    clock.now += 10.0
    pacer.succeeded()
    assert pacer.rate_fraction == pytest.approx(0.75)
    clock.now += 10.0
    pacer.succeeded()
    assert pacer.rate_fraction == pytest.approx(1.0)


@pytest.mark.anyio
async def test_retry_after_pauses_every_route() -> None:
    clock = SteppingClock()
    pacer = pacer_on(clock, rpm=600, rps=40)
    await paced_instantly(pacer, ROUTE, 1)
    told_at = clock.now

    pacer.rate_limited(retry_after_seconds=3.0)
    permit = await pacer.acquire(OTHER_ROUTE)

    assert permit.released_at >= told_at + 3.0


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Fri, 27 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_full_jitter_stays_under_the_exponential_cap() -> None:
    assert full_jitter_seconds(0, base=0.5, cap=30, random=lambda: 1.0) == 0.5
    assert full_jitter_seconds(3, base=0.5, cap=30, random=lambda: 1.0) == 4.0
    assert full_jitter_seconds(10, base=0.5, cap=30, random=lambda: 1.0) == 30.0
    assert full_jitter_seconds(10, base=0.5, cap=30, random=lambda: 0.0) == 0.0
