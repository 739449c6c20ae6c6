"""Activity the governor did not start: Neon's own operations lock a project (423), and
423s on demand, through ``/_simulator/`` controls and their in-process twins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from governor.simulator.mutations import LOCKED_MESSAGE
from tests.simulator.conftest import Api, timed_options
from tests.simulator.worlds import SECOND_PROJECT_ID, TINY_PROJECT_ID

TINY = f"/projects/{TINY_PROJECT_ID}"
RENAME = {"branch": {"name": "renamed"}}


def rename_dev(api: Api) -> int:
    return api.call("PATCH", f"{TINY}/branches/br-dev-1", json=RENAME).status_code


def test_a_system_operation_locks_the_project_until_it_finishes(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options())
    operation = api.simulator.start_system_operation(TINY_PROJECT_ID, "check_availability", 3.0)
    assert (operation["action"], operation["status"]) == ("check_availability", "scheduling")
    locked = api.call("PATCH", f"{TINY}/branches/br-dev-1", json=RENAME)
    assert locked.status_code == 423
    assert locked.json()["message"] == LOCKED_MESSAGE
    listed = api.get(f"{TINY}/operations").json()["operations"]
    assert [item["id"] for item in listed] == [operation["id"]]
    other = f"/projects/{SECOND_PROJECT_ID}/branches/br-second-main-1"
    assert api.call("PATCH", other, json=RENAME).status_code == 200
    api.clock.advance(3.0)
    finished = api.get(f"{TINY}/operations/{operation['id']}").json()["operation"]
    assert finished["status"] == "finished"
    assert rename_dev(api) == 200


def test_a_system_operation_can_be_started_over_http(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(timed_options())
    body = {"action": "check_availability", "seconds": 2.0, "endpoint_id": "ep-main-1"}
    answer = api.http.post(f"/_simulator/projects/{TINY_PROJECT_ID}/operations", json=body)
    assert answer.status_code == 201
    operation = answer.json()["operation"]
    assert (operation["endpoint_id"], operation["branch_id"]) == ("ep-main-1", "br-main-1")
    assert rename_dev(api) == 423
    api.clock.advance(2.0)
    assert rename_dev(api) == 200
    assert api.simulator.logged_requests()[0]["status"] == 423  # controls are not logged


@pytest.mark.parametrize(
    ("project_id", "body", "status"),
    [
        ("no-such-project", {}, 404),
        (TINY_PROJECT_ID, {"endpoint_id": "ep-nope"}, 404),
        (TINY_PROJECT_ID, {"seconds": 0}, 400),
        (TINY_PROJECT_ID, {"seconds": "2"}, 400),
        (TINY_PROJECT_ID, {"action": "drop everything"}, 400),
        (TINY_PROJECT_ID, {"colour": "red"}, 400),
    ],
)
def test_bad_system_operation_requests_are_refused(
    tiny_api: Callable[..., Api], project_id: str, body: dict[str, Any], status: int
) -> None:
    api = tiny_api(timed_options())
    answer = api.http.post(f"/_simulator/projects/{project_id}/operations", json=body)
    assert answer.status_code == status
    assert answer.json()["message"]
    assert api.get(f"{TINY}/operations").json()["operations"] == []


def test_system_operations_do_not_shift_the_seeded_draws(
    tiny_api: Callable[..., Api],
) -> None:
    def durations(with_outside_activity: bool) -> list[int]:
        api = tiny_api(timed_options(operation_seconds=(0.2, 1.0)))
        found = []
        for _ in range(3):
            if with_outside_activity:
                api.simulator.start_system_operation(SECOND_PROJECT_ID, seconds=0.5)
            answer = api.call("POST", f"{TINY}/endpoints/ep-preview-1/suspend").json()
            api.clock.advance(2.0)
            operation_id = answer["operations"][0]["id"]
            found.append(
                api.get(f"{TINY}/operations/{operation_id}").json()["operation"][
                    "total_duration_ms"
                ]
            )
        return found

    assert durations(True) == durations(False)


def test_the_next_mutations_can_be_refused_with_423(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(timed_options())
    answer = api.http.post("/_simulator/faults", json={"refuse_next_mutations": 2})
    assert answer.status_code == 200
    assert api.get(TINY).status_code == 200  # reads are never refused
    assert [rename_dev(api), api.call("DELETE", "/api_keys/1001").status_code] == [423, 423]
    assert rename_dev(api) == 200
    api.simulator.refuse_next_mutations(1)
    assert [rename_dev(api), rename_dev(api)] == [423, 200]


def test_fail_423_can_be_changed_while_serving(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(timed_options())
    assert api.http.post("/_simulator/faults", json={"fail_423": 1.0}).json() == {"fail_423": 1.0}
    assert [rename_dev(api) for _ in range(3)] == [423, 423, 423]
    api.simulator.set_fail_423(0.0)
    assert rename_dev(api) == 200
    for bad in ({"fail_423": 2}, {"refuse_next_mutations": -1}, {"fail_423": "all"}):
        assert api.http.post("/_simulator/faults", json=bad).status_code == 400
