from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor.neon.pacing import Pacer, full_jitter_seconds, parse_retry_after, window_margin
from tests.neon.virtual_time import SteppingClock, VirtualClock
from tests.neon.windows import max_in_window, max_per_route_in_window

ROUTE = "GET /projects/{project_id}"
OTHER_ROUTE = "GET /projects/{project_id}/endpoints"


def pacer_on(
    clock: SteppingClock | VirtualClock,
    rpm: int,
    rps: int,
    *,
    smooth: bool = False,
    receive_within: float | None = None,
) -> Pacer:
    return Pacer(
        rpm,
        rps,
        clock=clock,
        sleep=clock.sleep,
        record_history=True,
        smooth=smooth,
        receive_within_seconds=receive_within,
    )


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


async def sweep_shaped(
    clock: VirtualClock, pacer: Pacer, projects: int, *, seed: int = 3
) -> list[tuple[str, float]]:
    """A sweep of ``projects`` projects as ``governor.sweep`` makes it: one project page,
    then each project's branch list and compute list, 16 in flight. Each request reaches
    the server 0-5 ms after release and is answered 20-60 ms after release (the
    simulator's latency is slept after it counted the request). Returns (route, the
    server's receipt) per request."""
    chance = random.Random(seed)
    arrivals: list[tuple[str, float]] = []
    slots = asyncio.Semaphore(16)

    async def one(route: str) -> None:
        async with slots:
            permit = await pacer.acquire(route)
            one_way = chance.uniform(0.0, 0.005)
            await clock.sleep(one_way)
            arrivals.append((route, clock.now))
            await clock.sleep(chance.uniform(0.02, 0.06) - one_way)
            pacer.done(permit)

    async def sweep() -> None:
        await one("GET /projects")
        await asyncio.gather(
            *(one(route) for _ in range(projects) for route in (ROUTE, OTHER_ROUTE))
        )

    await clock.run(sweep())
    return arrivals


@pytest.mark.anyio
async def test_a_200_project_sweep_at_neons_limits_takes_the_per_route_bound_and_no_more() -> None:
    clock = VirtualClock()
    pacer = pacer_on(clock, rpm=700, rps=40)
    start = clock.now

    arrivals = await sweep_shaped(clock, pacer, 200)

    assert len(arrivals) == 401
    assert max_per_route_in_window(arrivals, 1.0) <= 40  # the server's view: never a 429
    assert max_in_window([at for _, at in arrivals], 60.0) <= 700
    # The busiest route's 200 requests at 40/s: 5 s, not 400 / (700/min) = 34 s. Each
    # request holds its slot for 1 s plus its round trip, so 40 go out about every 1.04 s.
    bound = 200 / 40
    assert clock.now - start <= 1.15 * bound


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
    assert max_per_route_in_window(events, 1.0) <= 10
    # 45 per route at 10 per (1 s + tolerance) take about 4 s; the routes run side by side.
    assert clock.now - start < 4.1


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
    pacer = pacer_on(clock, rpm=6000, rps=2)

    async def scenario() -> float:
        first = await pacer.acquire(ROUTE)
        await pacer.acquire(ROUTE)
        third = asyncio.ensure_future(pacer.acquire(ROUTE))
        await clock.sleep(5.0)
        assert not third.done()  # without a receive bound, the server may not have it yet
        answered_at = clock.now
        pacer.done(first)
        permit = await third
        return permit.released_at - answered_at

    waited = await clock.run(scenario())

    assert waited >= 1.0


@pytest.mark.anyio
async def test_an_unanswered_request_counts_until_a_window_after_the_receive_bound() -> None:
    clock = VirtualClock()
    pacer = pacer_on(clock, rpm=6000, rps=1, receive_within=0.1)

    async def scenario() -> float:
        first = await pacer.acquire(ROUTE)  # never answered: the server had it by 0.1 s
        second = await pacer.acquire(ROUTE)
        return second.released_at - first.released_at

    waited = await clock.run(scenario())

    assert 1.1 <= waited <= 1.11


@pytest.mark.anyio
async def test_with_a_receive_bound_an_early_answer_frees_its_slot_sooner() -> None:
    clock = VirtualClock()
    pacer = pacer_on(clock, rpm=6000, rps=1, receive_within=0.5)

    async def scenario() -> float:
        first = await pacer.acquire(ROUTE)
        second = asyncio.ensure_future(pacer.acquire(ROUTE))
        await clock.sleep(0.03)
        pacer.done(first)  # received by 0.03 s at the latest: 1.03 s, not 1.5 s
        return (await second).released_at - first.released_at

    waited = await clock.run(scenario())

    assert 1.03 <= waited <= 1.04


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


# -- the server's windows, at any offset, under any latency the pacer may assume ---------

request_timing = st.tuples(
    st.integers(min_value=0, max_value=2),  # the route
    st.floats(min_value=0.0, max_value=1.0),  # release to receipt, as a share of the bound
    st.floats(min_value=0.0, max_value=1.5),  # receipt to answer, seconds
    st.floats(min_value=0.0, max_value=0.3),  # the worker's pause before its next request
)


def server_windows_after(
    timings: list[tuple[int, float, float, float]],
    *,
    rpm: int,
    rps: int,
    receive_within: float | None,
    workers: int,
    drift: float,
) -> tuple[list[tuple[str, float]], float]:
    """Run ``timings`` through a pacer in virtual time; the server's receipts per route,
    on a server clock running ``drift`` faster than ours, and the virtual seconds taken."""
    clock = VirtualClock()
    pacer = pacer_on(clock, rpm=rpm, rps=rps, receive_within=receive_within)
    routes = [ROUTE, OTHER_ROUTE, "GET /projects"]
    received: list[tuple[str, float]] = []
    # Without a bound the server may receive a request any time before its answer.
    send_scale = receive_within if receive_within is not None else 2.0
    queue = list(timings)

    async def worker() -> None:
        while queue:
            route_index, send_share, answer_after, pause = queue.pop()
            route = routes[route_index]
            permit = await pacer.acquire(route)
            await clock.sleep(send_share * send_scale)
            received.append((route, clock.now))
            await clock.sleep(answer_after)
            pacer.done(permit)
            await clock.sleep(pause)

    async def everyone() -> None:
        await asyncio.gather(*(worker() for _ in range(workers)))

    start = clock.now
    asyncio.run(clock.run(everyone()))
    server_time = [(route, (at - start) * (1.0 + drift)) for route, at in received]
    return server_time, clock.now - start


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    timings=st.lists(request_timing, min_size=1, max_size=80),
    rps=st.integers(min_value=1, max_value=8),
    receive_within=st.one_of(st.none(), st.floats(min_value=0.0, max_value=0.5)),
    workers=st.integers(min_value=1, max_value=16),
    drift=st.floats(min_value=-0.0005, max_value=0.0005),
)
def test_no_server_route_window_at_any_offset_holds_more_than_the_limit(
    timings: list[tuple[int, float, float, float]],
    rps: int,
    receive_within: float | None,
    workers: int,
    drift: float,
) -> None:
    received, _ = server_windows_after(
        timings, rpm=60_000, rps=rps, receive_within=receive_within, workers=workers, drift=drift
    )

    assert len(received) == len(timings)
    # Closed windows [t, t + 1 s] at every t: stricter than the server's (t - 1 s, t].
    assert max_per_route_in_window(received, 1.0) <= rps


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    timings=st.lists(request_timing, min_size=1, max_size=60),
    rpm=st.integers(min_value=2, max_value=30),
    receive_within=st.one_of(st.none(), st.floats(min_value=0.0, max_value=0.5)),
    workers=st.integers(min_value=1, max_value=16),
    drift=st.floats(min_value=-0.0005, max_value=0.0005),
)
def test_no_server_minute_window_at_any_offset_holds_more_than_the_limit(
    timings: list[tuple[int, float, float, float]],
    rpm: int,
    receive_within: float | None,
    workers: int,
    drift: float,
) -> None:
    received, _ = server_windows_after(
        timings, rpm=rpm, rps=40, receive_within=receive_within, workers=workers, drift=drift
    )

    assert len(received) == len(timings)
    assert max_in_window([at for _, at in received], 60.0) <= rpm
