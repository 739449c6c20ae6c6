"""From actions to requests: one PATCH per compute, Neon's limits applied, owners respected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from governor.model.actions import (
    DeleteAction,
    ResizeAction,
    RevokeAction,
    SetAutosuspendAction,
    SetExpiryAction,
    SuspendAction,
)
from governor.model.changes import (
    KINDS,
    Change,
    DeleteBranch,
    RevokeOrgKey,
    RevokePersonalKey,
    SuspendEndpoint,
    UpdateBranch,
    UpdateEndpoint,
    moves_text,
    parse_change,
    propose,
)

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
IDLE_COMPUTE = {
    "autoscaling_limit_min_cu": 8,
    "autoscaling_limit_max_cu": 10,
    "suspend_timeout_seconds": -1,
    "current_state": "idle",
}


def test_two_compute_settings_merge_into_one_patch_and_keep_the_maximum() -> None:
    proposal = propose(
        [
            SetAutosuspendAction(type="set_autosuspend", seconds=300),
            ResizeAction(type="resize", min_cu=0.25),
        ],
        IDLE_COMPUTE,
        now=NOW,
        scope=None,
    )
    # 8-10 CU asked for 0.25: Neon's 8 CU range makes 2 CU the lowest valid minimum
    assert proposal.change == Change(
        "update_endpoint", {"suspend_timeout_seconds": 300, "autoscaling_limit_min_cu": 2.0}
    )
    assert proposal.after["autoscaling_limit_max_cu"] == 10
    assert any("restarts the compute" in note for note in proposal.notes)
    assert any("wakes the idle compute" in note for note in proposal.notes)


def test_a_range_above_the_16_cu_cap_needs_a_person_instead_of_a_400() -> None:
    proposal = propose(
        [ResizeAction(type="resize", min_cu=0.25)],
        {**IDLE_COMPUTE, "autoscaling_limit_max_cu": 32},
        now=NOW,
        scope=None,
    )
    assert proposal.change is None
    assert proposal.outcome == "needs_person"
    assert "16 CU" in proposal.reason


def test_a_fixed_size_above_16_cu_is_fine() -> None:
    proposal = propose(
        [ResizeAction(type="resize", min_cu=20, max_cu=20)],
        {**IDLE_COMPUTE, "autoscaling_limit_max_cu": 32},
        now=NOW,
        scope=None,
    )
    assert proposal.change is not None


def test_a_setting_already_in_place_is_nothing_to_do() -> None:
    proposal = propose(
        [SetAutosuspendAction(type="set_autosuspend", seconds=-1 + 301)],
        {**IDLE_COMPUTE, "suspend_timeout_seconds": 300},
        now=NOW,
        scope=None,
    )
    assert proposal.outcome == "done_already"


def test_expiry_is_second_precise_and_within_30_days_with_room_for_clock_skew() -> None:
    proposal = propose(
        [SetExpiryAction(type="set_expiry", after=timedelta(days=30))],
        {},
        now=NOW.replace(microsecond=123456),
        scope=None,
    )
    assert proposal.change is not None
    text = proposal.change.fields["expires_at"]
    assert text.endswith("Z")
    assert "." not in text
    moment = datetime.fromisoformat(text)
    assert NOW < moment <= NOW + timedelta(days=30) - timedelta(minutes=4)


@pytest.mark.parametrize(
    ("owner_set", "why"),
    [("2026-11-30T00:00:00Z", "already expires"), ("2026-12-20T00:00:00Z", "snoozed")],
)
def test_an_expiry_an_owner_set_is_never_shortened(owner_set: str, why: str) -> None:
    proposal = propose(
        [SetExpiryAction(type="set_expiry", after=timedelta(days=7))],
        {"expires_at": owner_set},
        now=NOW,
        scope=None,
    )
    assert proposal.change is None
    assert why in proposal.reason


def test_a_branch_that_expires_on_its_own_is_not_deleted_early() -> None:
    proposal = propose(
        [DeleteAction(type="delete")], {"expires_at": "2026-12-01T00:00:00Z"}, now=NOW, scope=None
    )
    assert proposal.change is None
    assert "expires on its own" in proposal.reason


def test_an_idle_compute_is_not_suspended_again() -> None:
    assert (
        propose([SuspendAction(type="suspend")], IDLE_COMPUTE, now=NOW, scope=None).change is None
    )


@pytest.mark.parametrize(
    ("scope", "kind", "request_line"),
    [
        ("personal", "revoke_personal_key", "DELETE /api_keys/42"),
        ("organization", "revoke_org_key", "DELETE /organizations/org-a/api_keys/42"),
        ("project", "revoke_org_key", "DELETE /organizations/org-a/api_keys/42"),
    ],
)
def test_keys_are_revoked_through_the_endpoint_their_scope_needs(
    scope: str, kind: str, request_line: str
) -> None:
    proposal = propose([RevokeAction(type="revoke")], {"scope": scope}, now=NOW, scope=scope)
    assert proposal.change is not None
    assert proposal.change.kind == kind
    assert (
        proposal.change.request(project_id=None, resource_id="42", org_id="org-a") == request_line
    )
    assert any("cannot be undone" in note for note in proposal.notes)


def test_outcomes_are_read_from_the_resource() -> None:
    patch = Change("update_endpoint", {"suspend_timeout_seconds": 300})
    assert patch.applied({"suspend_timeout_seconds": 300})
    assert not patch.applied({"suspend_timeout_seconds": -1})
    assert not patch.applied(None)
    assert Change("delete_branch").applied(None)
    assert not Change("delete_branch").applied({"id": "br-1"})
    expiry = Change("update_branch", {"expires_at": "2026-12-01T00:00:00Z"})
    assert expiry.applied({"expires_at": "2026-12-01T00:00:00+00:00"})


@pytest.mark.parametrize(
    ("stored", "kind_class", "request_line"),
    [
        (
            {"kind": "update_endpoint", "fields": {"autoscaling_limit_min_cu": 0.25}},
            UpdateEndpoint,
            'PATCH /projects/p/endpoints/r {"endpoint": {"autoscaling_limit_min_cu": 0.25}}',
        ),
        (
            {"kind": "suspend_endpoint", "fields": {}},
            SuspendEndpoint,
            "POST /projects/p/endpoints/r/suspend",
        ),
        ({"kind": "update_branch", "fields": {}}, UpdateBranch, "PATCH /projects/p/branches/r"),
        ({"kind": "delete_branch", "fields": {}}, DeleteBranch, "DELETE /projects/p/branches/r"),
        (
            {"kind": "revoke_org_key", "fields": {}},
            RevokeOrgKey,
            "DELETE /organizations/o/api_keys/r",
        ),
        ({"kind": "revoke_personal_key"}, RevokePersonalKey, "DELETE /api_keys/r"),
    ],
)
def test_a_stored_change_reads_back_as_its_kinds_class_with_the_same_request(
    stored: dict[str, Any], kind_class: type[Change], request_line: str
) -> None:
    change = parse_change(stored)
    assert type(change) is kind_class
    assert change == Change(stored["kind"], stored.get("fields"))
    assert change.as_json() == {"kind": stored["kind"], "fields": stored.get("fields", {})}
    assert change.request(project_id="p", resource_id="r", org_id="o") == request_line


def test_a_stored_change_of_no_known_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="not a planned change"):
        parse_change({"kind": "drop_project", "fields": {}})
    with pytest.raises(ValueError, match="not a change kind"):
        Change("drop_project")


def test_disruption_and_irreversibility_follow_the_actions_flags() -> None:
    """One rule, from the ``Action``: a suspend-timeout PATCH is not disruptive, a resize is."""
    assert not Change("update_endpoint", {"suspend_timeout_seconds": 300}).disruptive
    assert Change("update_endpoint", {"autoscaling_limit_max_cu": 2.0}).disruptive
    assert ResizeAction.disruptive
    assert Change("suspend_endpoint").disruptive == SuspendAction.disruptive
    assert Change("delete_branch").disruptive == DeleteAction.disruptive
    assert Change("delete_branch").irreversible == DeleteAction.irreversible is True
    for kind in ("revoke_org_key", "revoke_personal_key"):
        assert Change(kind).irreversible == RevokeAction.irreversible is True
    assert not Change("update_branch", {"expires_at": "2026-12-01T00:00:00Z"}).irreversible


def test_a_revert_restores_the_fields_before_and_only_updates_are_revertible() -> None:
    patch = Change("update_endpoint", {"suspend_timeout_seconds": 300})
    assert patch.restoring({"suspend_timeout_seconds": -1, "x": 1}) == Change(
        "update_endpoint", {"suspend_timeout_seconds": -1}
    )
    revertible = {kind for kind, cls in KINDS.items() if cls.not_revertible is None}
    assert revertible == {
        "update_endpoint",
        "update_branch",
        "update_project",
        "update_backup_schedule",
        "delete_project",  # Neon's 7-day recovery
    }


def test_what_a_change_moves_reads_the_same_for_every_kind() -> None:
    assert moves_text(Change("delete_branch"), {}) == "exists → deleted"
    assert moves_text(Change("revoke_org_key"), {}) == "active → revoked"
    assert moves_text(Change("suspend_endpoint"), {"current_state": "active"}) == "active → idle"
    patch = Change("update_endpoint", {"autoscaling_limit_max_cu": 2.0})
    assert moves_text(patch, {"autoscaling_limit_max_cu": 8}) == "autoscaling_limit_max_cu 8 → 2"
