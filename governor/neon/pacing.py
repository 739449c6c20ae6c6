"""Pacing requests so Neon's sliding-window rate limits are never exceeded.

Neon (and the simulator) count every request when they *receive* it, in sliding windows:
at most ``requests_per_minute`` per key in any 60 s, and ``requests_per_second_per_route``
per key and route in any 1 s (the simulator: ``governor.simulator.ratelimit``, a request
at ``r`` is in the window ``(t - W, t]`` when ``t - W < r <= t``). A token bucket running
at the nominal rate overshoots a sliding window by its burst, and the server's clock sees
each request some time after ours. So one ``Pacer`` per API key, shared by every task,
combines:

* exact sliding-window caps: the full per-route allowance, and the minute's less a small
  reserve (0.5 %, at least one) for whatever else spends the account's budget in the same
  minute (the Console). Each request is counted over a *span* of our clock,
  ``[release, latest + W + tolerance)``, where ``latest`` is the latest moment the server
  can have received it: its answer, or ``release + receive_within_seconds`` when that
  bound is given and earlier. A request is released only while fewer than the limit spans
  cover that instant. These alone decide while no 429 was seen: a sweep that needs fewer
  requests than one minute's budget goes as fast as the per-route burst allows (40/s per
  route), not spread over the minute; a longer one takes a minute's budget per minute,
  which is the bound (requests ÷ allowed rate) or better;
* once Neon answers 429 (someone else, the Console or CI, spends the same budget), smooth
  GCRA spacing at an adaptive share of the nominal rate: additive-increase /
  multiplicative-decrease on 429, and a shared pause when Neon says ``Retry-After``. When
  the share has recovered to the full rate, bursts are allowed again.

Why no server window, whatever its offset from our clock, ever holds more than the limit:
the server receives a request at some ``r`` with ``release <= r <= latest`` (not before
we let it go; not after its answer; and, when the bound is given, within it). A server
window ``(t - W, t]`` holds that request exactly when ``r <= t < r + W``, so only when
``t`` lies in ``[release, latest + W)``, the request's span (the tolerance covers the two
clocks running at rates up to 0.1 % apart, and our clock's granularity). So the requests
in any server window are among the spans covering one instant ``t`` of our clock. The
number of spans covering an instant only rises at a release, and spans only shrink
afterwards (an answer can end one sooner, never later); the pacer checks, at every
release, that the spans covering that instant, the new one included, are at most the
limit. So at most the limit cover any instant, and no server window holds more.

What it costs: a request occupies its slot for W plus its own uncertainty (``latest -
release``), at most its round trip; at 20-60 ms that is 2-6 % of a 1 s window, and the
per-route bound (requests ÷ 40/s) is met within that. ``receive_within_seconds`` (the most
time from release to the server's receipt, connection set-up and the client's pool wait
included) narrows the span for slow answers, but it is an assumption: the default
(``None``) assumes nothing beyond causality.

To leave part of the account's budget to others, build the pacer with lower limits
(``[neon] budget_share`` scales both: ``governor.runtime``), or ``smooth=True`` to spread
requests evenly at the nominal rate even without 429s.

Clock and sleep are injectable so tests run in virtual time.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

MINUTE_SECONDS = 60.0
SECOND_SECONDS = 1.0
CLOCK_RATE_TOLERANCE = 0.001  # our clock and the server's may run this far apart (NTP: 0.05 %)
CLOCK_GRANULARITY_SECONDS = 0.001


def window_margin(limit: int) -> int:
    """Requests the minute window keeps in reserve below its limit (0.5 %, at least one)."""
    return max(1, math.ceil(limit * 0.005))


def span_tolerance(seconds: float) -> float:
    """What a window's spans add to its length for clocks that differ in rate and tick."""
    return seconds * CLOCK_RATE_TOLERANCE + CLOCK_GRANULARITY_SECONDS


@dataclass
class SlidingWindow:
    """At most ``limit`` requests whose spans cover any one instant (module docstring).

    A span is ``[release, latest + seconds)``; ``latest`` is the answer, or
    ``release + receive_within`` when that is given and earlier.
    """

    limit: int
    seconds: float
    receive_within: float | None = None
    # Answered requests' span ends, in order: appended (without a receive bound, always at
    # the end: an answer's end is later than every earlier one), so finding the k-th
    # soonest costs nothing at 60,000 a minute.
    ends: deque[float] = field(default_factory=deque)
    flying: Counter[float] = field(default_factory=Counter)  # unanswered, by release time
    in_flight: int = 0

    def released(self, at: float) -> None:
        self.flying[at] += 1
        self.in_flight += 1

    def answered(self, released_at: float, at: float) -> None:
        left = self.flying[released_at] - 1
        if left > 0:
            self.flying[released_at] = left
        else:
            self.flying.pop(released_at, None)
        self.in_flight = max(0, self.in_flight - 1)
        latest = at
        if self.receive_within is not None:
            latest = min(at, released_at + self.receive_within)
        end = latest + self.seconds
        if not self.ends or end >= self.ends[-1]:
            self.ends.append(end)
        else:
            self.ends.insert(bisect.bisect_right(self.ends, end), end)

    def _flying_ends(self) -> list[float]:
        """Span ends known before the answer (only with a receive bound), one per request."""
        if self.receive_within is None:
            return []
        extra = self.receive_within + self.seconds
        return [released + extra for released, n in self.flying.items() for _ in range(n)]

    def count(self, now: float) -> int:
        while self.ends and self.ends[0] <= now:
            self.ends.popleft()
        if self.receive_within is None:
            return len(self.ends) + self.in_flight
        return len(self.ends) + sum(1 for end in self._flying_ends() if end > now)

    def wait_seconds(self, now: float) -> float | None:
        """Seconds until one more request fits; ``None``: only an answer can free a slot."""
        excess = self.count(now) - (self.limit - 1)
        if excess <= 0:
            return 0.0
        flying = [end for end in self._flying_ends() if end > now] if self.in_flight else []
        if excess > len(self.ends) + len(flying):
            return None
        if not flying:
            return self.ends[excess - 1] - now
        # The excess-th soonest of both is among the first excess of each.
        known = sorted([*itertools.islice(self.ends, excess), *flying])
        return known[excess - 1] - now

    def spans_now(self, now: float) -> int:
        """Like ``count`` without changing anything: safe from another thread."""
        ends = list(self.ends)
        flying = list(self.flying.items())
        if self.receive_within is None:
            return sum(1 for end in ends if end > now) + sum(n for _, n in flying)
        extra = self.receive_within + self.seconds
        late = sum(n for released, n in flying if released + extra > now)
        return sum(1 for end in ends if end > now) + late


@dataclass(frozen=True)
class Permit:
    """A released request; hand it back with ``Pacer.done`` when the answer (or error) came."""

    route: str
    released_at: float


@dataclass(frozen=True)
class PacedRequest:
    """One request as the pacer saw it, for benchmarks and tests."""

    route: str
    released_at: float
    answered_at: float


class Pacer:
    """Shared pacing state for one API key."""

    def __init__(
        self,
        requests_per_minute: int = 700,
        requests_per_second_per_route: int = 40,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        receive_within_seconds: float | None = None,
        decrease_factor: float = 0.5,
        recovery_per_second: float = 0.05,
        minimum_fraction: float = 0.01,
        decrease_cooldown_seconds: float = 1.0,
        record_history: bool = False,
        smooth: bool = False,
    ) -> None:
        if requests_per_minute < 1 or requests_per_second_per_route < 1:
            raise ValueError("rate limits must be at least 1")
        if receive_within_seconds is not None and receive_within_seconds < 0:
            raise ValueError("receive_within_seconds must not be negative")
        self.requests_per_minute = requests_per_minute
        self.requests_per_second_per_route = requests_per_second_per_route
        self.clock = clock
        self.sleep = sleep
        self.smooth = smooth
        self._receive_within = receive_within_seconds
        self._decrease_factor = decrease_factor
        self._recovery_per_second = recovery_per_second
        self._minimum_fraction = minimum_fraction
        self._decrease_cooldown = decrease_cooldown_seconds
        self._minute = SlidingWindow(
            requests_per_minute - window_margin(requests_per_minute),
            MINUTE_SECONDS + span_tolerance(MINUTE_SECONDS),
            receive_within_seconds,
        )
        self._routes: dict[str, SlidingWindow] = {}
        self._theoretical_arrival = -math.inf
        self._paused_until = -math.inf
        self._fraction = 1.0
        self._fraction_updated_at = clock()
        self._last_decrease_at = -math.inf
        self._answered: asyncio.Event | None = None
        self.history: list[PacedRequest] | None = [] if record_history else None

    def minute_used(self) -> int:
        """Requests counted in the minute window now, without changing it.

        Why read-only: the metrics server calls it on its own thread; ``list()`` copies the
        ends and the in-flight counts in one step each under the GIL, where ``count()``
        would pop from the ends.
        """
        return self._minute.spans_now(self.clock())

    @property
    def rate_fraction(self) -> float:
        """The share of the nominal rate currently used (1.0 unless 429s were seen)."""
        return self._fraction

    @property
    def requests_per_second(self) -> float:
        return self.requests_per_minute * self._fraction / MINUTE_SECONDS

    def _route_window(self, route: str) -> SlidingWindow:
        window = self._routes.get(route)
        if window is None:
            limit = self.requests_per_second_per_route
            # The full allowance: the spans already make the count safe (module docstring).
            seconds = SECOND_SECONDS + span_tolerance(SECOND_SECONDS)
            window = SlidingWindow(limit, seconds, self._receive_within)
            self._routes[route] = window
        return window

    @property
    def spacing(self) -> bool:
        """Whether requests are spread at the (adaptive) rate rather than let burst."""
        return self.smooth or self._fraction < 1.0

    def _wait_seconds(self, route: str, now: float) -> float | None:
        interval = 1.0 / self.requests_per_second
        # GCRA with a tolerance of one interval: a late wake-up does not lose its slot.
        spaced = self._theoretical_arrival - interval - now if self.spacing else 0.0
        waits: list[float | None] = [
            spaced,
            self._paused_until - now,
            self._minute.wait_seconds(now),
            self._route_window(route).wait_seconds(now),
        ]
        if any(wait is None for wait in waits):
            return None
        return max(wait for wait in waits if wait is not None)

    async def acquire(self, route: str) -> Permit:
        """Wait until one more request to ``route`` fits every limit, and claim it."""
        while True:
            now = self.clock()
            wait = self._wait_seconds(route, now)
            if wait is None:
                if self._answered is None:
                    self._answered = asyncio.Event()
                await self._answered.wait()
                continue
            if wait > 0:
                await self._sleep_or_answer(wait)
                continue
            if self.spacing:
                interval = 1.0 / self.requests_per_second
                self._theoretical_arrival = max(self._theoretical_arrival, now) + interval
            self._minute.released(now)
            self._route_window(route).released(now)
            return Permit(route, now)

    async def _sleep_or_answer(self, seconds: float) -> None:
        """Sleep ``seconds``; with a receive bound, an answer may end a span sooner: wake."""
        if self._receive_within is None:
            await self.sleep(seconds)
            return
        if self._answered is None:
            self._answered = asyncio.Event()
        sleeper = asyncio.ensure_future(self.sleep(seconds))
        answer = asyncio.ensure_future(self._answered.wait())
        try:
            await asyncio.wait({sleeper, answer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            answer.cancel()

    def done(self, permit: Permit) -> None:
        """The answer to ``permit``'s request arrived (or the attempt failed)."""
        now = self.clock()
        for window in (self._minute, self._route_window(permit.route)):
            window.answered(permit.released_at, now)
        if self.history is not None:
            self.history.append(PacedRequest(permit.route, permit.released_at, now))
        if self._answered is not None:
            self._answered.set()
            self._answered = None

    def paused_seconds(self) -> float:
        """How much longer the shared ``Retry-After`` pause lasts (0: none)."""
        return max(0.0, self._paused_until - self.clock())

    def succeeded(self) -> None:
        """Additive increase: recover the rate gently while answers are not 429."""
        now = self.clock()
        if self._fraction < 1.0:
            elapsed = max(0.0, now - self._fraction_updated_at)
            self._fraction = min(1.0, self._fraction + self._recovery_per_second * elapsed)
        self._fraction_updated_at = now

    def rate_limited(
        self, retry_after_seconds: float | None = None, *, released_at: float | None = None
    ) -> None:
        """Multiplicative decrease for everyone; a ``Retry-After`` pauses everyone.

        Like TCP, only a 429 for a request released after the last decrease (sent at the
        current rate) lowers the rate again; without ``released_at``, a cooldown decides.
        """
        now = self.clock()
        if released_at is not None:
            decrease = released_at >= self._last_decrease_at
        else:
            decrease = now - self._last_decrease_at >= self._decrease_cooldown
        if decrease:
            self._fraction = max(self._minimum_fraction, self._fraction * self._decrease_factor)
            self._last_decrease_at = now
        self._fraction_updated_at = now
        if retry_after_seconds is not None and retry_after_seconds > 0:
            self._paused_until = max(self._paused_until, now + retry_after_seconds)


def full_jitter_seconds(
    attempt: int, *, base: float, cap: float, random: Callable[[], float]
) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return random() * min(cap, base * 2.0 ** max(0, attempt))


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):  # any header a server sends
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)
