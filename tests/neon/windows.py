"""Counting requests in sliding windows, as a server would, to check the pacer's promise."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def max_in_window(times: Iterable[float], seconds: float) -> int:
    """The most times falling in any closed window ``[t, t + seconds]``."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] > seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def max_per_route_in_window(events: Iterable[tuple[str, float]], seconds: float) -> int:
    by_route: dict[str, list[float]] = defaultdict(list)
    for route, moment in events:
        by_route[route].append(moment)
    return max((max_in_window(times, seconds) for times in by_route.values()), default=0)
