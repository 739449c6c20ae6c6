"""What the server saw: answers by status, the busiest windows per key, and wake-ups.

Why: a paced client proves itself by the server's view (the benchmark reads this from
``simulate``'s last stderr line), not by its own bookkeeping; and a remediation that
PATCHes idle computes pays for each wake-up, so the server counts them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from governor.simulator.request_log import RequestRecord


def busiest_window(times: Iterable[float], window_seconds: float) -> int:
    """Most requests within any window of ``window_seconds`` (left-open, right-closed)."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - window_seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def summarize(
    records: Iterable[RequestRecord], wake_ups: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """Totals, statuses, per key the busiest 60 s and the busiest 1 s on one route, and
    ``wake_ups`` (idle computes woken by a PATCH; per endpoint id in ``wake_ups_by_endpoint``)."""
    records = list(records)
    by_key: dict[str, list[float]] = defaultdict(list)
    by_route: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record in records:
        by_key[record.key_label].append(record.at)
        by_route[(record.key_label, record.route)].append(record.at)
    per_key: dict[str, dict[str, int]] = {}
    for key, times in by_key.items():
        routes = [busiest_window(t, 1.0) for (label, _), t in by_route.items() if label == key]
        per_key[key] = {
            "requests": len(times),
            "max_per_60s": busiest_window(times, 60.0),
            "max_per_1s_per_route": max(routes, default=0),
        }
    statuses = Counter(record.status for record in records)
    return {
        "requests": len(records),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "keys": per_key,
        "wake_ups": sum((wake_ups or {}).values()),
        "wake_ups_by_endpoint": dict(sorted((wake_ups or {}).items())),
    }
