"""Hostile policy files and API values the filters read: never a hang, never a traceback,
never "unknown" for a value the models accepted (issue: hostile input, classes 1, 2, 5)."""

from __future__ import annotations

import math
import textwrap
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.durations import parse_duration
from governor.policy import Policy, PolicyError, evaluate, load_policies
from governor.policy.errors import MAX_SHOWN
from governor.policy.operators import parse_timestamp
from tests.policy.builders import DAY, NOW, branch, endpoint, snapshot, stamp


def policy(resource: str, filters: Any) -> Policy:
    return Policy.model_validate({"name": "test", "resource": resource, "filters": filters})


def load_text(tmp_path: Path, text: str) -> list[Policy]:
    path = tmp_path / "p.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return list(load_policies([path]))


def test_a_catastrophically_backtracking_regex_matches_in_linear_time() -> None:
    # ^(a+)+$ against 35 a's and a b takes Python's re minutes; RE2 answers at once.
    rule = policy("branch", [{"name": {"regex": "^(a+)+$"}}])
    world = snapshot(branches=[branch("br-1", name="a" * 35 + "b"), branch("br-2", name="aaa")])
    assert [finding.resource_id for finding in evaluate([rule], world, now=NOW)] == ["br-2"]


def test_a_regex_needing_backtracking_features_is_refused_when_loaded(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as raised:
        load_text(
            tmp_path,
            """\
            - name: backref
              resource: branch
              filters: [{name: {regex: '(a)\\1'}}]
            """,
        )
    message = str(raised.value)
    assert "p.yaml:3:" in message
    assert "no backreferences or lookaround" in message


@pytest.mark.parametrize(
    "written",
    ["2026-09-04T08:00:00z", "2026-09-04t08:00:00Z", "2026-09-04T08:00:00.123456z"],
)
def test_timestamps_in_any_case_are_read_as_the_models_read_them(written: str) -> None:
    assert parse_timestamp(written) == parse_timestamp("2026-09-04T08:00:00Z") + (
        timedelta(microseconds=123456) if ".123456" in written else timedelta(0)
    )


def test_epoch_numbers_are_timestamps_and_nan_is_not() -> None:
    assert parse_timestamp(1_788_508_800) == parse_timestamp("2026-09-04T08:00:00Z")
    assert parse_timestamp(math.nan) is None
    assert parse_timestamp(math.inf) is None
    assert parse_timestamp(10**400) is None
    assert parse_timestamp(True) is None


def test_a_branch_idle_by_a_lower_case_z_timestamp_is_still_stale() -> None:
    rule = policy("branch", [{"last_activity": {"older_than": "30d"}}])
    lower = stamp(60 * DAY).replace("Z", "z")
    world = snapshot(
        branches=[branch("br-1")], endpoints=[endpoint("ep-1", "br-1", last_active=lower)]
    )
    assert [finding.resource_id for finding in evaluate([rule], world, now=NOW)] == ["br-1"]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_number_that_is_not_finite_compares_as_unknown(value: float) -> None:
    # The models refuse non-finite numbers in the fields they type; a field only the raw
    # object carries still reaches the filters as it came.
    rule = policy("branch", [{"written_data_bytes": {"gte": 8}}])
    world = snapshot(branches=[branch("br-1", written_data_bytes=value)])
    assert evaluate([rule], world, now=NOW) == []


def test_a_400_digit_integer_compares_without_overflow() -> None:
    rule = policy("branch", [{"logical_size": {"gt": 8}}])
    world = snapshot(branches=[branch("br-1", logical_size=10**400)])
    assert [finding.resource_id for finding in evaluate([rule], world, now=NOW)] == ["br-1"]


@pytest.mark.parametrize("text", ["9999999999d", "36501d", "99999999999999999999s"])
def test_a_duration_beyond_a_century_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="longer than 36500d"):
        parse_duration(text)


def test_400_nested_nots_are_a_located_error_not_a_recursion_error(tmp_path: Path) -> None:
    filters = "{not: " * 400 + "{name: x}" + "}" * 400
    with pytest.raises(PolicyError) as raised:
        load_text(tmp_path, f"- name: deep\n  resource: branch\n  filters: {filters}\n")
    assert "p.yaml:3:" in str(raised.value)
    assert "nest" in str(raised.value)


def test_thousands_of_broken_policies_show_the_first_problems_and_a_count(tmp_path: Path) -> None:
    text = "".join(f"- name: p{n}\n  resource: nope\n  filters: [{{id: x}}]\n" for n in range(500))
    with pytest.raises(PolicyError) as raised:
        load_text(tmp_path, text)
    lines = str(raised.value).splitlines()
    assert len(lines) == MAX_SHOWN + 1
    assert lines[-1] == f"... and {len(raised.value.problems) - MAX_SHOWN} more problems"
    assert lines[0].startswith(str(tmp_path / "p.yaml") + ":2:")
