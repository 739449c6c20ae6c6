"""The server-side summary: statuses and the busiest windows per key and route."""

from __future__ import annotations

from governor.simulator.responses import RequestRecord
from governor.simulator.stats import busiest_window, summarize


def test_the_busiest_window_counts_requests_within_any_window() -> None:
    assert busiest_window([], 60.0) == 0
    assert busiest_window([0.0, 0.5, 0.99, 1.0, 1.5, 3.0], 1.0) == 3  # (0.0, 1.0]
    assert busiest_window([0.0, 1.0, 2.0], 1.0) == 1


def test_summary_groups_by_key_and_route() -> None:
    def record(at: float, key: str, route: str, status: int = 200) -> RequestRecord:
        return RequestRecord(at, key, route.split(maxsplit=1)[0], route, "/x", status)

    records = [
        record(0.0, "personal", "GET /projects"),
        record(0.1, "personal", "GET /projects"),
        record(0.2, "personal", "GET /api_keys", 429),
        record(70.0, "personal", "GET /projects"),
        record(0.0, "org:org-1", "GET /projects"),
    ]
    summary = summarize(records)
    assert summary["requests"] == 5
    assert summary["statuses"] == {"200": 4, "429": 1}
    assert summary["keys"]["personal"] == {
        "requests": 4,
        "max_per_60s": 3,
        "max_per_1s_per_route": 2,
    }
    assert summary["keys"]["org:org-1"]["max_per_60s"] == 1
    assert (summary["wake_ups"], summary["wake_ups_by_endpoint"]) == (0, {})


def test_summary_counts_wake_ups_per_endpoint() -> None:
    summary = summarize([], {"ep-b": 1, "ep-a": 2})
    assert summary["wake_ups"] == 3
    assert list(summary["wake_ups_by_endpoint"].items()) == [("ep-a", 2), ("ep-b", 1)]
