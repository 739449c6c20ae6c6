"""The issue-18 mutations behave as Neon's: project PATCH, delete and recover, snapshot
delete, backup-schedule PUT, compute delete and disable; 423 while operations run and
Neon's status with a clear message for every refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from governor.simulator import World
from governor.simulator.mutations import LOCKED_MESSAGE
from tests.simulator.conftest import Api, timed_options
from tests.simulator.worlds import TINY_ORG_ID, TINY_PROJECT_ID, tiny_world_data

TINY = f"/projects/{TINY_PROJECT_ID}"
SNAPSHOT = {
    "id": "snap-old-1",
    "name": "before-migration",
    "created_at": "2026-08-01T00:00:00Z",
    "manual": True,
    "full_size": 2_000_000_000,
    "source_branch_id": "br-main-1",
}
SCHEDULE = {"schedule": [{"frequency": "daily", "hour": 3}, {"frequency": "weekly", "day": 1}]}


def lever_world(plan: str = "scale") -> World:
    data = tiny_world_data()
    org = next(org for org in data["organizations"] if org["id"] == TINY_ORG_ID)
    org["plan"] = plan
    project = next(p for p in org["projects"] if p["id"] == TINY_PROJECT_ID)
    project["history_retention_seconds"] = 604800
    project["default_endpoint_settings"] = {
        "autoscaling_limit_min_cu": 1,
        "autoscaling_limit_max_cu": 2,
        "suspend_timeout_seconds": -1,
    }
    project["snapshots"] = [SNAPSHOT]
    project["backup_schedules"] = {"br-main-1": SCHEDULE}
    return World.from_dict(data)


@pytest.fixture
def api(tiny_api: Callable[..., Api]) -> Api:
    return tiny_api(timed_options(), lever_world())


def finish(api: Api) -> None:
    api.clock.advance(10.0)


def refused(answer: Any, status: int, words: str) -> None:
    assert answer.status_code == status, answer.text
    assert words in answer.json()["message"]


def test_a_restore_window_change_applies_when_its_operation_finishes(api: Api) -> None:
    answer = api.call("PATCH", TINY, json={"project": {"history_retention_seconds": 86400}})
    assert answer.status_code == 200
    [operation] = answer.json()["operations"]
    assert operation["action"] == "apply_storage_config"
    assert answer.json()["project"]["history_retention_seconds"] == 86400
    assert api.get(TINY).json()["project"]["history_retention_seconds"] == 604800
    locked = api.call("PATCH", TINY, json={"project": {"history_retention_seconds": 0}})
    refused(locked, 423, LOCKED_MESSAGE)
    finish(api)
    assert api.get(TINY).json()["project"]["history_retention_seconds"] == 86400


@pytest.mark.parametrize(
    ("plan", "seconds", "words"),
    [
        ("scale", 2592001, "Neon accepts 0 to 2592000 seconds"),
        ("scale", -1, "Neon accepts 0 to 2592000 seconds"),
        ("launch", 8 * 86400, "the launch plan allows a restore window of at most 604800"),
        ("free", 86400, "the free plan allows a restore window of at most 21600"),
    ],
)
def test_a_restore_window_beyond_the_api_or_the_plan_is_refused(
    tiny_api: Callable[..., Api], plan: str, seconds: int, words: str
) -> None:
    api = tiny_api(timed_options(), lever_world(plan))
    answer = api.call("PATCH", TINY, json={"project": {"history_retention_seconds": seconds}})
    refused(answer, 400, words)
    assert api.get(TINY).json()["project"]["history_retention_seconds"] == 604800


def test_project_defaults_merge_and_apply_at_once(api: Api) -> None:
    answer = api.call(
        "PATCH",
        TINY,
        json={"project": {"default_endpoint_settings": {"suspend_timeout_seconds": 300}}},
    )
    assert answer.status_code == 200
    assert answer.json()["operations"] == []
    assert api.get(TINY).json()["project"]["default_endpoint_settings"] == {
        "autoscaling_limit_min_cu": 1,
        "autoscaling_limit_max_cu": 2,
        "suspend_timeout_seconds": 300,
    }


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"autoscaling_limit_min_cu": 3}, "must not exceed autoscaling_limit_max_cu"),
        ({"autoscaling_limit_max_cu": 0.75}, "must not exceed"),
        ({"autoscaling_limit_min_cu": 0.25, "autoscaling_limit_max_cu": 12}, "refused"),
        ({"suspend_timeout_seconds": 5}, "suspend_timeout_seconds 5 refused"),
        ({"cpu": 1}, "unknown field(s) in default_endpoint_settings: cpu"),
    ],
)
def test_project_defaults_neon_refuses_are_refused_by_rule(
    api: Api, settings: dict[str, Any], words: str
) -> None:
    answer = api.call("PATCH", TINY, json={"project": {"default_endpoint_settings": settings}})
    refused(answer, 400, words)


def test_a_deleted_project_is_gone_until_it_is_recovered(api: Api) -> None:
    answer = api.call("DELETE", TINY)
    assert answer.status_code == 200
    assert answer.json()["project"]["id"] == TINY_PROJECT_ID
    assert "operations" not in answer.json()
    assert api.get(TINY).status_code == 404
    assert TINY_PROJECT_ID not in [
        p["id"] for p in api.get("/projects", org_id=TINY_ORG_ID).json()["projects"]
    ]
    refused(api.call("DELETE", TINY), 404, "not found")
    api.clock.advance(6 * 86400)
    recovered = api.call("POST", f"{TINY}/recover")
    assert recovered.status_code == 200
    assert api.get(TINY).status_code == 200
    refused(api.call("POST", f"{TINY}/recover"), 400, "is not deleted")


def test_a_project_deleted_more_than_seven_days_ago_cannot_be_recovered(api: Api) -> None:
    assert api.call("DELETE", TINY).status_code == 200
    api.clock.advance(timedelta(days=7, seconds=1).total_seconds())
    refused(api.call("POST", f"{TINY}/recover"), 404, "more than 7 days ago")


def test_a_snapshot_delete_answers_202_and_removes_it_when_done(api: Api) -> None:
    answer = api.call("DELETE", f"{TINY}/snapshots/snap-old-1")
    assert answer.status_code == 202
    [operation] = answer.json()["operations"]
    assert api.get(f"{TINY}/snapshots").json()["snapshots"] != []
    refused(api.call("DELETE", f"{TINY}/snapshots/snap-old-1"), 423, LOCKED_MESSAGE)
    finish(api)
    assert api.get(f"{TINY}/operations/{operation['id']}").json()["operation"]["status"] == (
        "finished"
    )
    assert api.get(f"{TINY}/snapshots").json()["snapshots"] == []
    refused(api.call("DELETE", f"{TINY}/snapshots/snap-old-1"), 404, "not found")


def test_a_backup_schedule_put_replaces_it_whole(api: Api) -> None:
    path = f"{TINY}/branches/br-main-1/backup_schedule"
    items = [{**item, "retention_seconds": 1209600} for item in SCHEDULE["schedule"]]
    answer = api.call("PUT", path, json={"schedule": items})
    assert answer.status_code == 200
    assert api.get(path).json() == {"schedule": items}


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ([{"frequency": "daily", "retention_seconds": 60}], "at least 3600"),
        ([{"frequency": "sometimes"}], "frequency must be one of"),
        ([{"frequency": "daily", "hour": 24}], "hour must be an integer from 0 to 23"),
        ([{"frequency": "daily", "keep": 1}], "unknown field(s) in schedule[0]: keep"),
    ],
)
def test_a_backup_schedule_neon_refuses_is_refused_and_kept(
    api: Api, schedule: list[dict[str, Any]], words: str
) -> None:
    path = f"{TINY}/branches/br-main-1/backup_schedule"
    refused(api.call("PUT", path, json={"schedule": schedule}), 400, words)
    assert api.get(path).json() == SCHEDULE


def test_deleting_an_active_compute_suspends_it_then_removes_it(api: Api) -> None:
    answer = api.call("DELETE", f"{TINY}/endpoints/ep-preview-1")
    assert answer.status_code == 200
    assert [op["action"] for op in answer.json()["operations"]] == ["suspend_compute"]
    assert api.get(f"{TINY}/endpoints/ep-preview-1").status_code == 200
    finish(api)
    assert api.get(f"{TINY}/endpoints/ep-preview-1").status_code == 404
    assert api.call("DELETE", f"{TINY}/endpoints/ep-preview-1").status_code == 204
    refused(api.call("DELETE", f"{TINY}/endpoints/ep-never-1"), 404, "not found")


def test_a_disabled_compute_is_suspended_and_cannot_be_started(api: Api) -> None:
    answer = api.call(
        "PATCH", f"{TINY}/endpoints/ep-preview-1", json={"endpoint": {"disabled": True}}
    )
    assert answer.status_code == 200
    finish(api)
    endpoint = api.get(f"{TINY}/endpoints/ep-preview-1").json()["endpoint"]
    assert (endpoint["disabled"], endpoint["current_state"]) == (True, "idle")
    refused(api.call("POST", f"{TINY}/endpoints/ep-preview-1/start"), 400, "disabled")


@pytest.mark.spec
@pytest.mark.usefixtures("spec")
def test_every_new_mutation_answer_and_request_body_conforms_to_the_spec(api: Api) -> None:
    from tests.openapi import validate_request_body, validate_response

    project = "/projects/{project_id}"
    mutations: list[tuple[str, str, str, Any, int]] = [
        ("PATCH", TINY, project, {"project": {"history_retention_seconds": 86400}}, 200),
        (
            "PATCH",
            TINY,
            project,
            {"project": {"default_endpoint_settings": {"suspend_timeout_seconds": 300}}},
            200,
        ),
        ("PATCH", TINY, project, {"project": {"history_retention_seconds": 2592001}}, 400),
        (
            "DELETE",
            f"{TINY}/snapshots/snap-old-1",
            f"{project}/snapshots/{{snapshot_id}}",
            None,
            202,
        ),
        (
            "DELETE",
            f"{TINY}/snapshots/snap-old-1",
            f"{project}/snapshots/{{snapshot_id}}",
            None,
            404,
        ),
        (
            "DELETE",
            f"{TINY}/endpoints/ep-preview-1",
            f"{project}/endpoints/{{endpoint_id}}",
            None,
            200,
        ),
        (
            "DELETE",
            f"{TINY}/endpoints/ep-preview-1",
            f"{project}/endpoints/{{endpoint_id}}",
            None,
            204,
        ),
        ("DELETE", TINY, project, None, 200),
        ("DELETE", TINY, project, None, 404),
    ]
    for method, path, template, body, status in mutations:
        if body is not None and status < 400:
            validate_request_body(method, template, body)
        response = api.call(method, path, json=body)
        assert response.status_code == status, (method, path, response.text)
        payload = response.json() if response.content else None
        validate_response(method, template, status, payload)
        finish(api)
