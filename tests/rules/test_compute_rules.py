"""Neon's documented compute rules, each at its boundaries, and the cheapest valid target."""

from __future__ import annotations

import pytest

from governor.rules.compute import (
    COMPUTE_SIZES,
    NeedsPerson,
    ResizeTarget,
    cheapest_target,
    lowest_valid_min,
    size_problems,
    suspend_problems,
)


def test_the_sizes_are_the_ones_neon_documents() -> None:
    assert COMPUTE_SIZES[:3] == (0.25, 0.5, 1.0)
    assert {16.0, 18.0} <= set(COMPUTE_SIZES)
    assert 17.0 not in COMPUTE_SIZES
    assert COMPUTE_SIZES[-1] == 56.0
    assert len(COMPUTE_SIZES) == 2 + 16 + 20


@pytest.mark.parametrize(
    ("pair", "problem"),
    [
        ((0.25, 16), "range spans at most 8 CU"),  # issue 16: 16-16 asked 0.25
        ((7.75, 16), "not a size Neon offers"),
        ((0.25, 9), "range spans at most 8 CU"),
        ((0.3, 1), "not a size Neon offers"),
        ((0.1, 1), "below Neon's smallest compute"),
        ((2, 1), "below the minimum"),
        ((10, 18), "up to 16 CU only"),
        ((1, 11), "at least max/8"),
        ((58, 58), "not a size Neon offers"),
        ((17, 17), "not a size Neon offers"),
    ],
)
def test_size_problems_names_each_rule_a_pair_breaks(
    pair: tuple[float, float], problem: str
) -> None:
    assert any(problem in text for text in size_problems(*pair))


@pytest.mark.parametrize(
    "pair",
    [(0.25, 0.25), (0.25, 8), (1, 9), (8, 16), (3, 11), (2, 10), (16, 16), (20, 20), (56, 56)],
)
def test_size_problems_accepts_every_pair_at_the_boundaries(pair: tuple[float, float]) -> None:
    assert size_problems(*pair) == []


@pytest.mark.parametrize(
    ("max_cu", "lowest"),
    [(0.25, None), (0.5, 0.25), (8, 0.25), (9, 1.0), (10, 2.0), (11, 3.0), (16, 8.0), (18, None)],
)
def test_lowest_valid_min_is_the_floor_every_rule_allows(
    max_cu: float, lowest: float | None
) -> None:
    assert lowest_valid_min(max_cu) == lowest
    if lowest is not None:
        assert size_problems(lowest, max_cu) == []


@pytest.mark.parametrize(
    ("seconds", "plan", "size", "problem"),
    [
        (-2, None, (0.25, 1), "not a valid suspend timeout"),
        (59, "scale", (0.25, 1), "not a valid suspend timeout"),
        (604801, None, (0.25, 1), "not a valid suspend timeout"),
        (-1, "free", (0.25, 1), "Free plan fixes scale to zero at 5 minutes"),
        (60, "free", (0.25, 1), "Free plan"),
        (60, "launch", (0.25, 1), "Launch plan allows scale to zero after 5 minutes or never"),
        (3600, "launch", (0.25, 1), "Launch plan"),
        (300, "scale", (20, 20), "above 16 CU never scale to zero"),
        (0, None, (56, 56), "above 16 CU never scale to zero"),
    ],
)
def test_suspend_problems_names_each_rule_a_timeout_breaks(
    seconds: int, plan: str | None, size: tuple[float, float], problem: str
) -> None:
    assert any(problem in text for text in suspend_problems(seconds, plan, *size))


@pytest.mark.parametrize(
    ("seconds", "plan", "size"),
    [
        (0, "free", (0.25, 2)),
        (300, "free", (0.25, 2)),
        (-1, "launch", (0.25, 1)),
        (300, "launch", (0.25, 1)),
        (0, "launch", (0.25, 1)),
        (60, "scale", (0.25, 1)),
        (604800, "scale", (16, 16)),
        (-1, "scale", (20, 20)),
        (3600, "legacy_scale", (1, 4)),
        (60, None, (1, 4)),
        (-1, None, (56, 56)),
    ],
)
def test_suspend_problems_accepts_what_each_plan_allows(
    seconds: int, plan: str | None, size: tuple[float, float]
) -> None:
    assert suspend_problems(seconds, plan, *size) == []


def test_a_16_cu_compute_asked_for_a_quarter_cu_floor_gets_8_to_16_half_the_floor() -> None:
    target = cheapest_target(
        current_min=16, current_max=16, asked_min=0.25, asked_max=None, lower_max=False
    )
    assert target == ResizeTarget(8.0, 16.0, target.why, reduces_peak=False)
    assert "range spans at most 8 CU" in target.why
    assert "half the floor" in target.why


def test_lowering_the_maximum_is_chosen_only_when_the_policy_allows_it() -> None:
    target = cheapest_target(
        current_min=16, current_max=16, asked_min=0.25, asked_max=None, lower_max=True
    )
    assert isinstance(target, ResizeTarget)
    assert (target.min_cu, target.max_cu, target.reduces_peak) == (0.25, 8.0, True)
    assert "reduces peak capacity" in target.why
    assert size_problems(target.min_cu, target.max_cu) == []


def test_an_asked_maximum_is_kept_and_marked_as_reducing_peak() -> None:
    target = cheapest_target(
        current_min=8, current_max=16, asked_min=1, asked_max=8, lower_max=False
    )
    assert isinstance(target, ResizeTarget)
    assert (target.min_cu, target.max_cu, target.reduces_peak) == (1.0, 8.0, True)


def test_a_floor_that_only_a_lower_maximum_can_drop_needs_a_person() -> None:
    at_lowest = cheapest_target(
        current_min=8, current_max=16, asked_min=0.25, asked_max=None, lower_max=False
    )
    assert isinstance(at_lowest, NeedsPerson)
    assert "lower_max" in at_lowest.reason
    fixed_large = cheapest_target(
        current_min=20, current_max=20, asked_min=0.25, asked_max=None, lower_max=False
    )
    assert isinstance(fixed_large, NeedsPerson)
    assert "16 CU" in fixed_large.reason


def test_an_asked_minimum_above_the_current_one_changes_nothing() -> None:
    target = cheapest_target(
        current_min=0.25, current_max=2, asked_min=1, asked_max=None, lower_max=False
    )
    assert isinstance(target, ResizeTarget)
    assert (target.min_cu, target.max_cu) == (0.25, 2.0)
    assert "no change" in target.why


def test_an_asked_minimum_between_sizes_rounds_up_to_a_size_neon_offers() -> None:
    target = cheapest_target(
        current_min=2, current_max=4, asked_min=0.3, asked_max=None, lower_max=False
    )
    assert isinstance(target, ResizeTarget)
    assert (target.min_cu, target.max_cu) == (0.5, 4.0)


@pytest.mark.parametrize("current", [(1, 4), (2, 8), (8, 8), (8, 16), (10, 16), (16, 16), (4, 12)])
@pytest.mark.parametrize("lower_max", [False, True])
def test_every_target_chosen_is_one_neon_accepts(
    current: tuple[float, float], lower_max: bool
) -> None:
    target = cheapest_target(
        current_min=current[0],
        current_max=current[1],
        asked_min=0.25,
        asked_max=None,
        lower_max=lower_max,
    )
    if isinstance(target, ResizeTarget):
        assert size_problems(target.min_cu, target.max_cu) == []
        assert target.min_cu < current[0]
        assert target.reduces_peak == (target.max_cu < current[1])
        assert lower_max or not target.reduces_peak
