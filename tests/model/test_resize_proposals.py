"""Resize proposals Neon accepts: the cheapest valid target, said why, never a silent loss."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from governor.model.actions import ResizeAction, SetAutosuspendAction, parse_action
from governor.model.changes import Change, neon_refuses, propose

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


def compute(low: float, high: float, timeout: int = -1) -> dict[str, object]:
    return {
        "autoscaling_limit_min_cu": low,
        "autoscaling_limit_max_cu": high,
        "suspend_timeout_seconds": timeout,
        "current_state": "active",
    }


def resize(min_cu: float, **more: object) -> ResizeAction:
    return ResizeAction.model_validate({"type": "resize", "min_cu": min_cu, **more})


AUTOSUSPEND = SetAutosuspendAction(type="set_autosuspend", seconds=300)


def test_a_16_cu_compute_asked_for_a_quarter_floor_becomes_8_to_16_and_says_why() -> None:
    values = compute(16, 16)
    action = resize(0.25).resolve(values)  # as the policy's finding holds it: max written out
    proposal = propose([action], values, now=NOW, scope=None)
    assert proposal.change == Change("update_endpoint", {"autoscaling_limit_min_cu": 8.0})
    [why] = [note for note in proposal.notes if note.startswith("resize ")]
    assert "asked 0.25 CU" in why
    assert "range spans at most 8 CU" in why
    assert "8-16 CU, half the floor" in why
    assert not any("reduces peak capacity" in note for note in proposal.notes)


def test_lowering_the_maximum_when_the_policy_allows_it_is_marked_reduces_peak_capacity() -> None:
    values = compute(16, 16)
    action = resize(0.25, lower_max=True).resolve(values)
    proposal = propose([action], values, now=NOW, scope=None)
    assert proposal.change == Change(
        "update_endpoint", {"autoscaling_limit_min_cu": 0.25, "autoscaling_limit_max_cu": 8.0}
    )
    assert any(note.startswith("reduces peak capacity") for note in proposal.notes)


def test_a_resize_that_needs_a_person_leaves_the_autosuspend_on_the_same_compute_going() -> None:
    # 8-16 CU is already at the lowest floor Neon allows with a 16 CU maximum
    values = compute(8, 16, timeout=-1)
    actions = [AUTOSUSPEND, resize(0.25).resolve(values)]
    proposal = propose(actions, values, now=NOW, scope=None, plan="scale")
    assert proposal.change == Change("update_endpoint", {"suspend_timeout_seconds": 300})
    [note] = [note for note in proposal.notes if "needs a person" in note]
    assert note.startswith("the resize needs a person:")
    assert "lower_max" in note


def test_a_suspend_timeout_the_plan_forbids_needs_a_person_and_the_resize_still_goes() -> None:
    values = compute(4, 8, timeout=-1)
    actions = [SetAutosuspendAction(type="set_autosuspend", seconds=3600), resize(0.25)]
    proposal = propose(actions, values, now=NOW, scope=None, plan="launch")
    assert proposal.change == Change("update_endpoint", {"autoscaling_limit_min_cu": 0.25})
    assert any("Launch plan" in note and "needs a person" in note for note in proposal.notes)


def test_only_invalid_changes_make_the_whole_proposal_need_a_person() -> None:
    values = compute(20, 20, timeout=-1)
    actions = [AUTOSUSPEND, resize(0.25).resolve(values)]
    proposal = propose(actions, values, now=NOW, scope=None, plan="scale")
    assert proposal.change is None
    assert proposal.outcome == "needs_person"
    assert "the resize needs a person" in proposal.reason
    assert "above 16 CU never scale to zero" in proposal.reason


def test_an_asked_minimum_above_the_current_one_changes_nothing() -> None:
    values = compute(0.25, 2)
    proposal = propose([resize(1).resolve(values)], values, now=NOW, scope=None)
    assert proposal.change is None
    assert proposal.outcome == "done_already"


@pytest.mark.parametrize(
    ("change", "values", "plan", "problem"),
    [
        ({"autoscaling_limit_min_cu": 0.25}, compute(16, 16), None, "range spans at most 8 CU"),
        ({"suspend_timeout_seconds": 600}, compute(0.25, 1), "launch", "Launch plan"),
        ({"suspend_timeout_seconds": 300}, compute(20, 20), "scale", "above 16 CU"),
    ],
)
def test_neon_refuses_names_the_rule_a_change_breaks_on_the_merged_values(
    change: dict[str, object], values: dict[str, object], plan: str | None, problem: str
) -> None:
    reason = neon_refuses(Change("update_endpoint", change), values, plan)
    assert reason is not None
    assert problem in reason
    valid = Change("update_endpoint", {"autoscaling_limit_min_cu": 8})
    assert neon_refuses(valid, compute(16, 16), plan) is None


def test_resize_json_stays_as_before_unless_lower_max_is_asked() -> None:
    assert resize(1).as_json() == {"type": "resize", "min_cu": 1}
    allowed = resize(1, lower_max=True)
    assert allowed.as_json() == {"type": "resize", "min_cu": 1, "lower_max": True}
    assert parse_action(allowed.as_json()) == allowed


@pytest.mark.parametrize("numbers", [{"min_cu": 0.3}, {"min_cu": 1, "max_cu": 17}])
def test_a_resize_to_a_size_neon_does_not_offer_is_refused_at_load(
    numbers: dict[str, float],
) -> None:
    with pytest.raises(ValueError, match="not a compute size Neon offers"):
        ResizeAction.model_validate({"type": "resize", **numbers})
