"""The simulator keeps branch annotations as Neon does: set at creation (POST with
``annotation_value``) or in a world file, answered beside the branches in the listing and
with the branch itself, and kept through a world's round trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from governor.simulator import SimulatorOptions, World
from tests.openapi import validate_request_body, validate_response
from tests.simulator.conftest import Api
from tests.simulator.worlds import TINY_PROJECT_ID, tiny_world_data

TINY = f"/projects/{TINY_PROJECT_ID}"
TIMED = SimulatorOptions(
    requests_per_minute=None, requests_per_second_per_route=None, operation_seconds=(1.0, 1.0)
)


def test_a_branch_created_with_annotation_value_lists_its_annotations(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(TIMED)
    body = {
        "branch": {"name": "preview/feat-login", "parent_id": "br-main-1"},
        "annotation_value": {"vercel-commit-ref": "feat/login", "vercel-deployment": "dpl_1"},
    }
    created = api.call("POST", f"{TINY}/branches", json=body)
    assert created.status_code == 201, created.text
    branch_id = created.json()["branch"]["id"]
    assert created.json()["branch"]["current_state"] == "init"
    api.clock.advance(5.0)
    listed = api.get(f"{TINY}/branches").json()
    assert listed["annotations"][branch_id]["value"] == body["annotation_value"]
    assert listed["annotations"][branch_id]["object"] == {"type": "console/branch", "id": branch_id}
    assert set(listed["annotations"]) == {branch_id}  # branches without values: left out
    one = api.get(f"{TINY}/branches/{branch_id}").json()
    assert one["annotation"]["value"] == body["annotation_value"]
    assert one["branch"]["current_state"] == "ready"


@pytest.mark.spec
@pytest.mark.usefixtures("spec")
def test_creating_an_annotated_branch_and_listing_it_conform_to_the_spec(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(TIMED)
    body = {"branch": {"name": "ci-1"}, "annotation_value": {"github-run": "42"}}
    template = "/projects/{project_id}/branches"
    validate_request_body("POST", template, body)
    created = api.call("POST", f"{TINY}/branches", json=body)
    validate_response("POST", template, 201, created.json())
    listed = api.get(f"{TINY}/branches")
    validate_response("GET", template, 200, listed.json())


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"annotation_value": {"n": 1}}, "annotation_value must be an object of string values"),
        ({"annotation_value": {f"k{i}": "v" for i in range(51)}}, "at most 50"),
        ({"endpoints": [{"type": "read_write"}]}, "without computes"),
        ({"branch": {"parent_id": "br-nope"}}, "parent branch 'br-nope' not found"),
    ],
)
def test_a_bad_create_branch_request_is_refused_by_name(
    tiny_api: Callable[..., Api], body: dict[str, Any], says: str
) -> None:
    api = tiny_api()
    refused = api.call("POST", f"{TINY}/branches", json=body)
    assert refused.status_code in (400, 404)
    assert says in refused.json()["message"]


def test_world_file_annotations_round_trip_and_leave_the_branch_object_clean() -> None:
    data = tiny_world_data()
    tiny = data["organizations"][0]["projects"][0]
    tiny["branches"][0]["annotations"] = {"team": "web"}
    world = World.from_dict(data)
    state = world.projects[TINY_PROJECT_ID]
    assert state.annotations == {"br-main-1": {"team": "web"}}
    assert "annotations" not in state.branches["br-main-1"]
    again = world.to_dict()["organizations"][0]["projects"][0]["branches"][0]
    assert again["annotations"] == {"team": "web"}


def test_deleting_a_branch_drops_its_annotations(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(TIMED)
    created = api.call(
        "POST", f"{TINY}/branches", json={"branch": {}, "annotation_value": {"a": "b"}}
    ).json()
    api.clock.advance(5.0)
    branch_id = created["branch"]["id"]
    assert api.call("DELETE", f"{TINY}/branches/{branch_id}").status_code == 200
    api.clock.advance(5.0)
    listed = api.get(f"{TINY}/branches").json()  # the deletion has finished
    assert branch_id not in {branch["id"] for branch in listed["branches"]}
    assert listed["annotations"] == {}
    state = api.simulator.world.projects[TINY_PROJECT_ID]
    assert branch_id not in state.annotations
