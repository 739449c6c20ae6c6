"""Neon's rate limits as sliding windows per bearer token: per minute, and per route per second."""

from __future__ import annotations

from collections import deque


class SlidingWindowLimiter:
    """Counts every request received; answers whether this one is over a limit.

    Why sliding windows: Neon states its limits as "N per minute" and "bursts up to M per
    second per route"; a client that paces correctly never exceeds them in any window.
    """

    def __init__(self, per_minute: int | None, per_second_per_route: int | None) -> None:
        self.per_minute = per_minute
        self.per_second_per_route = per_second_per_route
        self._minute: dict[str, deque[float]] = {}
        self._second: dict[tuple[str, str], deque[float]] = {}

    def admit(self, key: str, route: str, at: float) -> bool:
        """Record the request at ``at``; False when it exceeds either limit."""
        allowed = True
        if self.per_minute is not None:
            window = self._minute.setdefault(key, deque())
            _drop_before(window, at - 60.0)
            window.append(at)
            allowed = len(window) <= self.per_minute
        if self.per_second_per_route is not None:
            window = self._second.setdefault((key, route), deque())
            _drop_before(window, at - 1.0)
            window.append(at)
            allowed = allowed and len(window) <= self.per_second_per_route
        return allowed


def _drop_before(window: deque[float], cutoff: float) -> None:
    while window and window[0] <= cutoff:
        window.popleft()
