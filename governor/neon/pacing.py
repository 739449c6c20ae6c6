"""Pacing requests so Neon's sliding-window rate limits are never exceeded.

Neon (and the simulator) count every received request in sliding windows: at most
``requests_per_minute`` per key in any 60 s, and ``requests_per_second_per_route`` per key
and route in any 1 s. A token bucket running at the nominal rate overshoots a sliding
window by its burst, and the server's clock sees each request one network latency after
ours. So one ``Pacer`` per API key, shared by every task, combines:

* exact sliding-window caps with a small margin. A request is counted from the moment it
  is released until ``window`` seconds after its answer came back: the server received it
  somewhere in between, so no server window, whatever its offset from our clock, can hold
  more requests than ours did. These alone decide while no 429 was seen: a sweep that
  needs fewer requests than one minute's budget goes as fast as the per-route burst
  allows (40/s per route), not spread over the minute; a longer one takes a minute's
  budget per minute, which is the bound (requests ÷ allowed rate) or better;
* once Neon answers 429 (someone else, the Console or CI, spends the same budget), smooth
  GCRA spacing at an adaptive share of the nominal rate: additive-increase /
  multiplicative-decrease on 429, and a shared pause when Neon says ``Retry-After``. When
  the share has recovered to the full rate, bursts are allowed again.

To leave part of the account's budget to others, build the pacer with lower limits
(``[neon] budget_share`` scales both: ``governor.runtime``), or ``smooth=True`` to spread
requests evenly at the nominal rate even without 429s.

Clock and sleep are injectable so tests run in virtual time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

MINUTE_SECONDS = 60.0
SECOND_SECONDS = 1.0


def window_margin(limit: int) -> int:
    """Requests kept in reserve below a window's limit (0.5 %, at least one)."""
    return max(1, math.ceil(limit * 0.005))


@dataclass
class SlidingWindow:
    """At most ``limit`` requests whose [release, answer + seconds] spans overlap."""

    limit: int
    seconds: float
    answered_at: deque[float] = field(default_factory=deque)
    in_flight: int = 0

    def count(self, now: float) -> int:
        while self.answered_at and self.answered_at[0] + self.seconds <= now:
            self.answered_at.popleft()
        return len(self.answered_at) + self.in_flight

    def wait_seconds(self, now: float) -> float | None:
        """Seconds until one more request fits; ``None``: only an answer can free a slot."""
        excess = self.count(now) - (self.limit - 1)
        if excess <= 0:
            return 0.0
        if excess > len(self.answered_at):
            return None
        return self.answered_at[excess - 1] + self.seconds - now


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
        slack_seconds: float = 0.05,
        decrease_factor: float = 0.5,
        recovery_per_second: float = 0.05,
        minimum_fraction: float = 0.01,
        decrease_cooldown_seconds: float = 1.0,
        record_history: bool = False,
        smooth: bool = False,
    ) -> None:
        if requests_per_minute < 1 or requests_per_second_per_route < 1:
            raise ValueError("rate limits must be at least 1")
        self.requests_per_minute = requests_per_minute
        self.requests_per_second_per_route = requests_per_second_per_route
        self.clock = clock
        self.sleep = sleep
        self.smooth = smooth
        self._slack = slack_seconds
        self._decrease_factor = decrease_factor
        self._recovery_per_second = recovery_per_second
        self._minimum_fraction = minimum_fraction
        self._decrease_cooldown = decrease_cooldown_seconds
        self._minute = SlidingWindow(
            requests_per_minute - window_margin(requests_per_minute),
            MINUTE_SECONDS + slack_seconds,
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
        deque in one step under the GIL, where ``count()`` would pop from it.
        """
        now, window = self.clock(), self._minute
        recent = sum(1 for at in list(window.answered_at) if at + window.seconds > now)
        return recent + window.in_flight

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
            window = SlidingWindow(limit - window_margin(limit), SECOND_SECONDS + self._slack)
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
                await self.sleep(wait)
                continue
            if self.spacing:
                interval = 1.0 / self.requests_per_second
                self._theoretical_arrival = max(self._theoretical_arrival, now) + interval
            self._minute.in_flight += 1
            self._route_window(route).in_flight += 1
            return Permit(route, now)

    def done(self, permit: Permit) -> None:
        """The answer to ``permit``'s request arrived (or the attempt failed)."""
        now = self.clock()
        for window in (self._minute, self._route_window(permit.route)):
            window.in_flight -= 1
            window.answered_at.append(now)
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
