"""The filter language: every operator, every duration unit, nesting, and unknown values."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from governor.policy.filters import filter_fields, parse_filter, render_filter
from governor.policy.matching import outcome
from tests.policy.builders import DAY, NOW, stamp

RESOURCE: dict[str, Any] = {
    "name": "preview/pr-42",
    "count": 3,
    "size": 1.5,
    "flag": False,
    "state": "idle",
    "nothing": None,
    "created_at": stamp(10 * DAY),
    "settings": {"pg_settings": {"max_connections": "100"}, "mode": "fast"},
}


def check(data: Any, values: dict[str, Any] | None = None) -> bool | None:
    parsed, problems = parse_filter(data)
    assert problems == []
    return outcome(parsed, RESOURCE if values is None else values, NOW)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"state": "idle"}, True),
        ({"state": {"eq": "active"}}, False),
        ({"count": {"eq": 3.0}}, True),
        ({"flag": {"eq": 0}}, False),  # a boolean is never equal to a number
        ({"count": {"eq": "3"}}, False),
        ({"state": {"ne": "active"}}, True),
        ({"state": {"ne": "idle"}}, False),
        ({"state": {"in": ["active", "idle"]}}, True),
        ({"count": {"in": [1, 2]}}, False),
        ({"flag": {"in": [0, "false"]}}, False),
        ({"count": {"gt": 2}}, True),
        ({"count": {"gt": 3}}, False),
        ({"count": {"gte": 3}}, True),
        ({"size": {"lt": 1.5}}, False),
        ({"size": {"lte": 1.5}}, True),
        ({"created_at": {"gt": "2026-11-01"}}, True),
        ({"created_at": {"lt": "2026-11-01T00:00:00Z"}}, False),
        ({"name": {"glob": "preview/*"}}, True),
        ({"name": {"glob": "Preview/*"}}, False),
        ({"name": {"regex": r"pr-\d+$"}}, True),
        ({"name": {"regex": r"^pr-"}}, False),
        ({"nothing": {"present": True}}, False),
        ({"nothing": {"absent": True}}, True),
        ({"missing": {"absent": True}}, True),
        ({"state": {"present": True}}, True),
        ({"state": {"absent": False}}, True),
        ({"created_at": {"older_than": "9d"}}, True),
        ({"created_at": {"older_than": "10d"}}, False),  # exactly 10 days: not older
        ({"created_at": {"newer_than": "11d"}}, True),
        ({"created_at": {"newer_than": "10d"}}, False),
        ({"settings.pg_settings.max_connections": "100"}, True),
        ({"settings.mode": {"in": ["fast"]}}, True),
    ],
)
def test_each_operator_compares_as_documented(condition: dict[str, Any], expected: bool) -> None:
    assert check(condition) is expected


@pytest.mark.parametrize(
    "condition",
    [
        {"missing": "x"},
        {"missing": {"ne": "x"}},
        {"missing": {"in": ["x"]}},
        {"missing": {"gt": 1}},
        {"missing": {"glob": "*"}},
        {"missing": {"regex": "."}},
        {"missing": {"older_than": "1s"}},
        {"missing": {"newer_than": "1w"}},
        {"nothing": {"eq": "x"}},
        {"settings.nothing.deeper": 1},
        {"name.deeper": 1},  # a dotted path through a string
        {"state": {"gt": 1}},  # not a number
        {"state": {"older_than": "1d"}},  # not a timestamp
        {"count": {"glob": "3"}},  # not a string
        {"count": {"regex": "3"}},
    ],
)
def test_a_condition_on_a_missing_or_incomparable_value_is_unknown(
    condition: dict[str, Any],
) -> None:
    assert check(condition) is None


def test_unknown_stays_unknown_under_not_and_never_selects() -> None:
    assert check({"not": {"missing": {"older_than": "1d"}}}) is None
    assert check({"not": {"not": {"missing": 1}}}) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([{"state": "idle"}, {"count": 3}], True),  # a list means all
        ({"state": "idle", "count": 4}, False),  # several keys: all of them
        ({"all": [{"state": "idle"}, {"count": 3}]}, True),
        ({"all": [{"state": "idle"}, {"missing": 1}]}, None),
        ({"all": [{"state": "active"}, {"missing": 1}]}, False),
        ({"any": [{"state": "active"}, {"count": 3}]}, True),
        ({"any": [{"state": "active"}, {"missing": 1}]}, None),
        ({"any": [{"missing": 1}, {"count": 3}]}, True),
        ({"any": [{"state": "active"}, {"count": 4}]}, False),
        ({"not": {"state": "active"}}, True),
        ({"not": [{"state": "idle"}, {"count": 3}]}, False),
        ({"any": [{"all": [{"flag": False}, {"not": {"count": {"lt": 3}}}]}, {"x": 1}]}, True),
        ({"not": {"any": [{"state": "active"}, {"all": [{"flag": True}]}]}}, True),
        ({"name": {"glob": "preview/*", "ne": "preview/pr-42"}}, False),  # operators: all
    ],
)
def test_all_any_and_not_nest(data: Any, expected: bool | None) -> None:
    assert check(data) is expected


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("45s", 45), ("5m", 300), ("6h", 21600), ("30d", 2592000), ("2w", 1209600), ("1d12h", 129600)],
)
def test_every_duration_unit_counts_from_now(duration: str, seconds: int) -> None:
    just_older = {"at": stamp(timedelta(seconds=seconds + 1))}
    exactly = {"at": stamp(timedelta(seconds=seconds))}
    just_newer = {"at": stamp(timedelta(seconds=seconds - 1))}
    assert check({"at": {"older_than": duration}}, just_older) is True
    assert check({"at": {"older_than": duration}}, exactly) is False
    assert check({"at": {"newer_than": duration}}, just_newer) is True
    assert check({"at": {"newer_than": duration}}, exactly) is False


def test_timestamps_in_every_api_spelling_compare_the_same() -> None:
    age = 3 * DAY
    for style in (0, 1, 2):
        assert check({"at": {"older_than": "2d"}}, {"at": stamp(age, style=style)}) is True
    assert check({"at": {"older_than": "2d"}}, {"at": "2026-11-20T12:00:00"}) is True  # naive: UTC


def test_filter_fields_lists_each_field_once_in_order() -> None:
    parsed, _ = parse_filter(
        [{"b": 1}, {"any": [{"a": {"gt": 1}}, {"not": {"b": 2}}]}, {"c.d": {"present": True}}]
    )
    assert filter_fields(parsed) == ["b", "a", "c.d"]


def test_a_rendered_filter_parses_back_to_the_same_meaning() -> None:
    source = [{"state": "idle"}, {"any": [{"count": {"gte": 3}}, {"not": {"flag": True}}]}]
    parsed, _ = parse_filter(source)
    again, problems = parse_filter(render_filter(parsed))
    assert problems == []
    assert render_filter(again) == render_filter(parsed)
    assert outcome(again, RESOURCE, NOW) is outcome(parsed, RESOURCE, NOW) is True
