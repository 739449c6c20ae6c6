"""Mutations behave like Neon's: operations progress with the clock, the change lands when
they finish, 423 while they run, refusals for branches Neon will not delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from governor.simulator import SimulatorOptions
from governor.simulator.mutations import LOCKED_MESSAGE
from governor.simulator.timestamps import format_timestamp
from tests.simulator.conftest import Api
from tests.simulator.worlds import (
    ORG_TOKEN,
    PROJECT_TOKEN,
    SECOND_PROJECT_ID,
    TINY_ORG_ID,
    TINY_PROJECT_ID,
)

TINY = f"/projects/{TINY_PROJECT_ID}"


def options(**changes: Any) -> SimulatorOptions:
    base: dict[str, Any] = {
        "requests_per_minute": None,
        "requests_per_second_per_route": None,
        "operation_seconds": (2.0, 2.0),
        "seed": 1,
    }
    return SimulatorOptions(**(base | changes))


@pytest.fixture
def api(tiny_api: Callable[..., Api]) -> Api:
    return tiny_api(options())


def statuses(api: Api, operations: list[dict[str, Any]]) -> list[str]:
    return [
        api.get(f"{TINY}/operations/{operation['id']}").json()["operation"]["status"]
        for operation in operations
    ]


def test_deleting_a_branch_runs_operations_then_removes_it_and_its_computes(api: Api) -> None:
    answer = api.call("DELETE", f"{TINY}/branches/br-preview-1")
    assert answer.status_code == 200
    operations = answer.json()["operations"]
    assert [op["action"] for op in operations] == ["suspend_compute", "delete_timeline"]
    assert answer.json()["branch"]["id"] == "br-preview-1"
    assert statuses(api, operations) == ["scheduling", "scheduling"]
    assert api.get(f"{TINY}/branches/br-preview-1").status_code == 200

    api.clock.advance(1.0)
    assert statuses(api, operations) == ["running", "scheduling"]
    api.clock.advance(2.0)
    assert statuses(api, operations) == ["finished", "running"]
    assert api.get(f"{TINY}/branches/br-preview-1").status_code == 200
    api.clock.advance(1.0)
    assert statuses(api, operations) == ["finished", "finished"]

    assert api.get(f"{TINY}/branches/br-preview-1").status_code == 404
    assert api.get(f"{TINY}/endpoints/ep-preview-1").status_code == 404
    again = api.call("DELETE", f"{TINY}/branches/br-preview-1")
    assert again.status_code == 204
    assert again.content == b""
    assert api.call("DELETE", f"{TINY}/branches/br-never-existed").status_code == 404


def test_operations_report_progress_timestamps_and_durations(api: Api) -> None:
    operation = api.call("POST", f"{TINY}/endpoints/ep-main-1/start").json()["operations"][0]
    assert operation["action"] == "start_compute"
    assert operation["endpoint_id"] == "ep-main-1"
    assert operation["branch_id"] == "br-main-1"
    assert operation["failures_count"] == 0
    api.clock.advance(3.0)
    finished = api.get(f"{TINY}/operations/{operation['id']}").json()["operation"]
    assert finished["status"] == "finished"
    assert finished["total_duration_ms"] == 1600  # 2 s minus the 20 % spent scheduling
    created = api.clock.start + timedelta(seconds=0)
    assert finished["created_at"] == format_timestamp(created)
    assert finished["updated_at"] == format_timestamp(created + timedelta(seconds=2))
    assert api.get(f"{TINY}/operations/not-an-operation").status_code == 404
    assert api.get(f"/projects/{SECOND_PROJECT_ID}/operations/{operation['id']}").status_code == 404


def test_the_operation_list_is_newest_first_and_paginated(api: Api) -> None:
    started = []
    for action in ("start", "suspend", "start"):
        started.append(api.call("POST", f"{TINY}/endpoints/ep-main-1/{action}").json())
        api.clock.advance(3.0)
    ids = [answer["operations"][0]["id"] for answer in started]
    first = api.get(f"{TINY}/operations", limit=2).json()
    assert [op["id"] for op in first["operations"]] == ids[::-1][:2]
    second = api.get(f"{TINY}/operations", limit=2, cursor=first["pagination"]["cursor"]).json()
    assert [op["id"] for op in second["operations"]] == ids[:1]
    assert second["pagination"]["cursor"] == ids[0]


def test_mutations_are_refused_with_423_while_the_project_has_running_operations(
    api: Api,
) -> None:
    assert api.call("POST", f"{TINY}/endpoints/ep-main-1/start").status_code == 200
    locked = api.call("POST", f"{TINY}/endpoints/ep-preview-1/suspend")
    assert locked.status_code == 423
    assert locked.json()["message"] == LOCKED_MESSAGE
    patch = api.call("PATCH", f"{TINY}/branches/br-dev-1", json={"branch": {"name": "x"}})
    assert patch.status_code == 423
    assert api.get(f"{TINY}/branches/br-dev-1").json()["branch"]["name"] == "dev"
    assert api.get(f"{TINY}/endpoints").status_code == 200  # reads are never locked
    other = api.call(
        "PATCH", f"/projects/{SECOND_PROJECT_ID}/branches/br-second-main-1",
        json={"branch": {"name": "trunk"}},
    )  # fmt: skip
    assert other.status_code == 200
    api.clock.advance(2.0)
    assert api.call("POST", f"{TINY}/endpoints/ep-preview-1/suspend").status_code == 200


def test_a_failed_operation_changes_nothing_and_cancels_the_rest_of_its_chain(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(options(operation_failure_fraction=1.0))
    operations = api.call("DELETE", f"{TINY}/branches/br-preview-1").json()["operations"]
    api.clock.advance(5.0)
    assert statuses(api, operations) == ["failed", "cancelled"]
    failed = api.get(f"{TINY}/operations/{operations[0]['id']}").json()["operation"]
    assert failed["failures_count"] == 1
    assert failed["error"]
    assert api.get(f"{TINY}/branches/br-preview-1").status_code == 200
    endpoint = api.get(f"{TINY}/endpoints/ep-preview-1").json()["endpoint"]
    assert endpoint["current_state"] == "active"
    assert api.call("DELETE", f"{TINY}/branches/br-preview-1").status_code == 200  # unlocked


@pytest.mark.parametrize(
    ("branch_id", "code", "reason"),
    [
        ("br-main-1", "BRANCH_IS_DEFAULT", "default branch"),
        ("br-guarded-1", "BRANCH_IS_PROTECTED", "protected"),
        ("br-orphan-1", "BRANCH_IS_ROOT", "root branch"),
        ("br-dev-1", "BRANCH_HAS_CHILDREN", "child branches"),
    ],
)
def test_branches_neon_will_not_delete_are_refused(
    api: Api, branch_id: str, code: str, reason: str
) -> None:
    refused = api.call("DELETE", f"{TINY}/branches/{branch_id}")
    assert refused.status_code == 422
    assert refused.json()["code"] == code
    assert reason in refused.json()["message"]
    api.clock.advance(10.0)
    assert api.get(f"{TINY}/branches/{branch_id}").status_code == 200
    assert api.get(f"{TINY}/operations").json()["operations"] == []


def expiry(api: Api, days: float) -> str:
    return format_timestamp(api.clock.now() + timedelta(days=days))


def patch_branch(api: Api, branch_id: str, fields: dict[str, Any]) -> Any:
    return api.call("PATCH", f"{TINY}/branches/{branch_id}", json={"branch": fields})


def test_setting_expires_at_schedules_the_branch_and_its_computes_for_deletion(api: Api) -> None:
    when = expiry(api, 2)
    answer = patch_branch(api, "br-preview-1", {"expires_at": when})
    assert answer.status_code == 200
    assert answer.json()["operations"] == []
    assert answer.json()["branch"]["expires_at"] == when
    assert answer.json()["branch"]["ttl_interval_seconds"] == 2 * 86400
    assert api.get(f"{TINY}/branches/br-preview-1").json()["branch"]["expires_at"] == when
    api.clock.advance(2 * 86400 - 1)
    assert api.get(f"{TINY}/branches/br-preview-1").status_code == 200
    api.clock.advance(1)
    assert api.get(f"{TINY}/branches/br-preview-1").status_code == 404
    assert api.get(f"{TINY}/endpoints/ep-preview-1").status_code == 404
    assert api.call("DELETE", f"{TINY}/branches/br-preview-1").status_code == 204


def test_clearing_expires_at_keeps_the_branch(api: Api) -> None:
    patch_branch(api, "br-feature-1", {"expires_at": expiry(api, 1)})
    cleared = patch_branch(api, "br-feature-1", {"expires_at": None})
    assert cleared.status_code == 200
    assert "expires_at" not in cleared.json()["branch"]
    api.clock.advance(3 * 86400)
    assert api.get(f"{TINY}/branches/br-feature-1").status_code == 200


@pytest.mark.parametrize(
    ("branch_id", "value", "reason"),
    [
        ("br-preview-1", "past", "in the future"),
        ("br-preview-1", "too-far", "at most 30 days"),
        ("br-preview-1", "2026-12-01T00:00:00", "timezone"),
        ("br-preview-1", "fractional", "second precision"),
        ("br-preview-1", "zero-fraction", "second precision"),
        ("br-preview-1", "tomorrow", "RFC 3339"),
        ("br-preview-1", 12345, "RFC 3339"),
        ("br-guarded-1", "ok", "protected"),
        ("br-main-1", "ok", "default"),
        ("br-dev-1", "ok", "child branches"),
    ],
)
def test_expires_at_rules(api: Api, branch_id: str, value: Any, reason: str) -> None:
    ok = expiry(api, 1)
    value = {
        "past": expiry(api, -1),
        "too-far": expiry(api, 31),
        "ok": ok,
        "fractional": ok.replace("Z", ".5Z"),
        "zero-fraction": ok.replace("Z", ".000Z"),
    }.get(value, value)
    refused = patch_branch(api, branch_id, {"expires_at": value})
    assert refused.status_code == 400
    assert reason in refused.json()["message"]
    assert "expires_at" not in api.get(f"{TINY}/branches/{branch_id}").json()["branch"]


def test_branch_rename_and_protection_apply_at_once(api: Api) -> None:
    answer = patch_branch(api, "br-feature-1", {"name": "renamed", "protected": True})
    assert answer.status_code == 200
    branch = api.get(f"{TINY}/branches/br-feature-1").json()["branch"]
    assert (branch["name"], branch["protected"]) == ("renamed", True)
    assert branch["updated_at"] == format_timestamp(api.clock.now())
    assert patch_branch(api, "br-feature-1", {"colour": "red"}).status_code == 400
    assert patch_branch(api, "br-feature-1", {"protected": "yes"}).status_code == 400
    assert api.call("PATCH", f"{TINY}/branches/br-feature-1", json=["x"]).status_code == 400


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"autoscaling_limit_min_cu": 0.1}, "at least 0.25"),
        ({"autoscaling_limit_max_cu": 0}, "at least 0.25"),
        ({"autoscaling_limit_min_cu": 2}, "must not exceed"),  # the current max is 1
        ({"autoscaling_limit_min_cu": 4, "autoscaling_limit_max_cu": 2}, "must not exceed"),
        ({"suspend_timeout_seconds": -2}, "60 to 604800 seconds"),
        ({"suspend_timeout_seconds": 604801}, "60 to 604800 seconds"),
        ({"suspend_timeout_seconds": 30}, "60 to 604800 seconds"),
        ({"suspend_timeout_seconds": 300.5}, "integer"),
        ({"autoscaling_limit_min_cu": "1"}, "number"),
        ({"size": 3}, "unknown field"),
    ],
)
def test_endpoint_updates_are_validated(api: Api, fields: dict[str, Any], reason: str) -> None:
    refused = api.call("PATCH", f"{TINY}/endpoints/ep-main-1", json={"endpoint": fields})
    assert refused.status_code == 400
    assert reason in refused.json()["message"]
    assert api.get(f"{TINY}/operations").json()["operations"] == []


def test_endpoint_updates_of_an_active_compute_apply_when_apply_config_finishes(
    api: Api,
) -> None:
    change = {"autoscaling_limit_min_cu": 0.5, "autoscaling_limit_max_cu": 4}
    change |= {"suspend_timeout_seconds": -1}
    answer = api.call("PATCH", f"{TINY}/endpoints/ep-preview-1", json={"endpoint": change})
    assert answer.status_code == 200
    assert [op["action"] for op in answer.json()["operations"]] == ["apply_config"]
    assert answer.json()["endpoint"]["autoscaling_limit_max_cu"] == 4
    before = api.get(f"{TINY}/endpoints/ep-preview-1").json()["endpoint"]
    assert before["autoscaling_limit_max_cu"] == 1
    api.clock.advance(2.0)
    after = api.get(f"{TINY}/endpoints/ep-preview-1").json()["endpoint"]
    assert {key: after[key] for key in change} == change


def test_suspend_and_start_change_the_compute_state_when_done(api: Api) -> None:
    suspend = api.call("POST", f"{TINY}/endpoints/ep-preview-1/suspend")
    assert suspend.json()["endpoint"]["pending_state"] == "idle"
    assert suspend.json()["operations"][0]["action"] == "suspend_compute"
    api.clock.advance(2.0)
    done_at = format_timestamp(api.clock.now())
    idle = api.get(f"{TINY}/endpoints/ep-preview-1").json()["endpoint"]
    assert (idle["current_state"], idle["suspended_at"], idle["last_active"]) == (
        "idle",
        done_at,
        done_at,
    )
    assert "pending_state" not in idle
    api.call("POST", f"{TINY}/endpoints/ep-main-1/start")
    api.clock.advance(2.0)
    active = api.get(f"{TINY}/endpoints/ep-main-1").json()["endpoint"]
    started_at = format_timestamp(api.clock.now())
    assert (active["current_state"], active["started_at"]) == ("active", started_at)


def test_revoking_keys_returns_the_spec_shape_and_removes_them(api: Api) -> None:
    revoked = api.call("DELETE", "/api_keys/1001")
    assert revoked.status_code == 200
    body = revoked.json()
    assert body["revoked"] is True
    assert body["created_by"] == "0c9d9e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
    assert [key["id"] for key in api.get("/api_keys").json()] == [1002]
    assert api.call("DELETE", "/api_keys/1001").status_code == 404
    assert api.call("DELETE", "/api_keys/abc").status_code == 400
    assert api.call("DELETE", "/api_keys/1002", ORG_TOKEN).status_code == 403

    path = f"/organizations/{TINY_ORG_ID}/api_keys/2002"
    assert api.call("DELETE", path, PROJECT_TOKEN).status_code == 403
    scoped = api.call("DELETE", path, ORG_TOKEN)
    assert scoped.status_code == 200
    assert scoped.json()["project_id"] == TINY_PROJECT_ID
    remaining = api.get(f"/organizations/{TINY_ORG_ID}/api_keys", ORG_TOKEN).json()
    assert [key["id"] for key in remaining] == [2001]


def test_revoking_an_already_revoked_org_key_answers_404(api: Api) -> None:
    path = f"/organizations/{TINY_ORG_ID}/api_keys/2001"
    assert api.call("DELETE", path, ORG_TOKEN).status_code == 200
    again = api.call("DELETE", path, ORG_TOKEN)
    assert again.status_code == 404
    assert "2001" in again.json()["message"]


def test_mutations_change_the_live_world(api: Api) -> None:
    patch_branch(api, "br-feature-1", {"name": "renamed"})
    world = api.simulator.world.to_dict()
    names = [b["name"] for b in world["organizations"][0]["projects"][0]["branches"]]
    assert "renamed" in names
