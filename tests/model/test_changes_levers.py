"""The issue-18 change kinds: each request exactly, what it moves, its outcome test, its
revert, its flags, and the proposals that keep Neon's limits (never a refused request)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from governor.model.actions import (
    ACTION_TYPES,
    DeleteEndpointAction,
    DeleteProjectAction,
    DeleteSnapshotAction,
    DisableComputeAction,
    SetBackupRetentionAction,
    SetProjectDefaultsAction,
    SetRetentionAction,
    parse_action,
)
from governor.model.changes import KINDS, Change, moves_text, neon_refuses, propose

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
SCHEDULE = [
    {"frequency": "daily", "hour": 3},
    {"frequency": "weekly", "day": 1, "retention_seconds": 604800},
    {"frequency": "monthly", "day": 1, "retention_seconds": 31536000},
]


def _propose(action: Any, values: dict[str, Any], plan: str | None = "scale") -> Any:
    return propose([action], values, now=NOW, scope=None, plan=plan)


def test_every_new_kind_says_its_request_exactly() -> None:
    where = {"project_id": "p-1", "resource_id": "r-1", "org_id": None}
    assert Change("update_project", {"history_retention_seconds": 86400}).request(**where) == (
        'PATCH /projects/p-1 {"project": {"history_retention_seconds": 86400}}'
    )
    defaults = Change(
        "update_project", {"default_endpoint_settings": {"suspend_timeout_seconds": 300}}
    )
    assert defaults.request(**where) == (
        'PATCH /projects/p-1 {"project": {"default_endpoint_settings": '
        '{"suspend_timeout_seconds": 300}}}'
    )
    assert Change("delete_project").request(**where) == "DELETE /projects/p-1"
    assert Change("recover_project").request(**where) == "POST /projects/p-1/recover"
    assert Change("delete_snapshot").request(**where) == "DELETE /projects/p-1/snapshots/r-1"
    assert Change("delete_endpoint").request(**where) == "DELETE /projects/p-1/endpoints/r-1"
    schedule = Change("update_backup_schedule", {"schedule": [{"frequency": "daily"}]})
    assert schedule.request(**where) == (
        'PUT /projects/p-1/branches/r-1/backup_schedule {"schedule": [{"frequency": "daily"}]}'
    )


def test_the_flags_come_from_the_actions() -> None:
    assert Change("update_project", {"history_retention_seconds": 0}).data_protection
    assert not Change("update_project", {"default_endpoint_settings": {}}).data_protection
    assert Change("delete_snapshot").data_protection
    assert Change("delete_snapshot").irreversible
    assert Change("update_backup_schedule", {"schedule": []}).data_protection
    project = Change("delete_project")
    assert (project.data_protection, project.irreversible, project.disruptive) == (
        True,
        True,
        True,
    )
    endpoint = Change("delete_endpoint")
    assert (endpoint.data_protection, endpoint.irreversible, endpoint.disruptive) == (
        False,
        True,
        True,
    )
    assert Change("update_endpoint", {"disabled": True}).disruptive
    assert not Change("update_endpoint", {"suspend_timeout_seconds": 300}).disruptive
    assert DeleteProjectAction.data_protection
    assert DeleteSnapshotAction.data_protection
    assert not DisableComputeAction.data_protection
    assert not DeleteEndpointAction.data_protection


def test_what_the_new_kinds_move_reads_for_people() -> None:
    defaults = Change(
        "update_project",
        {"default_endpoint_settings": {"suspend_timeout_seconds": 300, "min": 1}},
    )
    before = {"default_endpoint_settings": {"suspend_timeout_seconds": -1, "min": 1}}
    assert (
        moves_text(defaults, before) == "default_endpoint_settings.suspend_timeout_seconds -1 → 300"
    )
    assert moves_text(Change("delete_project"), {}) == "exists → deleted (recoverable for 7 days)"
    schedule = Change(
        "update_backup_schedule",
        {"schedule": [{"frequency": "daily", "retention_seconds": 3600}]},
    )
    assert (
        moves_text(schedule, {"schedule": [{"frequency": "daily"}]})
        == "schedule[0].retention_seconds none → 3600"
    )


def test_project_defaults_are_in_effect_when_the_asked_settings_are_whatever_else_is_there() -> (
    None
):
    change = Change(
        "update_project", {"default_endpoint_settings": {"suspend_timeout_seconds": 300}}
    )
    assert change.applied({"default_endpoint_settings": {"suspend_timeout_seconds": 300, "x": 1}})
    assert not change.applied({"default_endpoint_settings": {"suspend_timeout_seconds": -1}})
    assert not change.applied({})
    assert not change.applied(None)


def test_reverts_restore_before_or_recover_the_project() -> None:
    assert Change("delete_project").restoring({"name": "x"}) == Change("recover_project")
    assert Change("update_endpoint", {"disabled": True}).restoring({}) == Change(
        "update_endpoint", {"disabled": False}
    )
    schedule = Change("update_backup_schedule", {"schedule": [{"frequency": "daily"}]})
    assert schedule.restoring({"schedule": SCHEDULE}).fields == {"schedule": SCHEDULE}
    assert KINDS["delete_snapshot"].not_revertible is not None
    assert KINDS["delete_endpoint"].not_revertible is not None


def test_a_restore_window_is_only_shortened_and_within_the_plan() -> None:
    action = SetRetentionAction(type="set_retention", seconds=86400)
    change = _propose(action, {"history_retention_seconds": 604800})
    assert change.change == Change("update_project", {"history_retention_seconds": 86400})
    assert any("gone for good" in note for note in change.notes)
    assert _propose(action, {"history_retention_seconds": 86400}).outcome == "done_already"
    assert _propose(action, {}).outcome == "needs_person"
    free = _propose(action, {"history_retention_seconds": 172800}, plan="free")
    assert free.outcome == "needs_person"
    assert "21600" in free.reason


def test_neon_refuses_a_project_change_the_plan_does_not_allow() -> None:
    window = Change("update_project", {"history_retention_seconds": 8 * 86400})
    assert neon_refuses(window, {}, "launch") is not None
    assert neon_refuses(window, {}, "scale") is None
    defaults = Change(
        "update_project", {"default_endpoint_settings": {"suspend_timeout_seconds": 600}}
    )
    assert neon_refuses(defaults, {}, "launch") is not None
    assert neon_refuses(defaults, {}, "scale") is None


def test_project_defaults_are_sent_whole_and_checked_with_the_compute_rules() -> None:
    action = SetProjectDefaultsAction(type="set_project_defaults", min_cu=0.25, max_cu=12)
    current = {"autoscaling_limit_min_cu": 1, "autoscaling_limit_max_cu": 2}
    refused = _propose(action, {"default_endpoint_settings": current})
    assert refused.outcome == "needs_person"  # a 0.25-12 CU range is wider than 8 CU
    ok = SetProjectDefaultsAction(type="set_project_defaults", suspend_timeout_seconds=300)
    proposal = _propose(ok, {"default_endpoint_settings": current})
    assert proposal.change.fields == {
        "default_endpoint_settings": {**current, "suspend_timeout_seconds": 300}
    }


def test_a_backup_retention_keeps_shorter_ones_and_shortens_longer_ones() -> None:
    action = SetBackupRetentionAction(type="set_backup_retention", retention=timedelta(days=14))
    proposal = _propose(action, {"backup_schedule": {"schedule": SCHEDULE}})
    assert proposal.change.fields == {
        "schedule": [
            {"frequency": "daily", "hour": 3, "retention_seconds": 1209600},
            {"frequency": "weekly", "day": 1, "retention_seconds": 604800},
            {"frequency": "monthly", "day": 1, "retention_seconds": 1209600},
        ]
    }
    assert _propose(action, {}).outcome == "needs_person"
    done = _propose(action, {"backup_schedule": {"schedule": SCHEDULE[1:2]}})
    assert done.outcome == "done_already"


def test_a_disabled_compute_is_done_already() -> None:
    action = DisableComputeAction(type="disable_compute")
    assert _propose(action, {"disabled": True}).outcome == "done_already"
    assert _propose(action, {"disabled": False}).change == Change(
        "update_endpoint", {"disabled": True}
    )


@pytest.mark.parametrize(
    "data",
    [
        {"type": "set_retention", "seconds": 2592001},
        {"type": "set_retention", "seconds": -1},
        {"type": "set_project_defaults"},
        {"type": "set_project_defaults", "min_cu": 0.3},
        {"type": "set_project_defaults", "min_cu": 2, "max_cu": 1},
        {"type": "set_project_defaults", "suspend_timeout_seconds": 30},
        {"type": "set_backup_retention", "retention": "30m"},
        {"type": "delete_project", "now": True},
    ],
)
def test_actions_neon_would_refuse_are_refused_when_the_policy_is_read(
    data: dict[str, Any],
) -> None:
    with pytest.raises((ValidationError, ValueError)):
        parse_action(data)


def test_every_new_action_reads_back_from_its_stored_form() -> None:
    for data in (
        {"type": "set_retention", "seconds": 86400},
        {"type": "set_project_defaults", "suspend_timeout_seconds": 300, "min_cu": 0.25},
        {"type": "delete_snapshot"},
        {"type": "set_backup_retention", "retention_seconds": 1209600},
        {"type": "delete_project"},
        {"type": "delete_endpoint"},
        {"type": "disable_compute"},
    ):
        assert data["type"] in ACTION_TYPES
        assert parse_action(data).as_json() == data
