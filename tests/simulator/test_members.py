"""Organization members: the world file's optional ``members``, the route that serves them,
members in generated worlds, and the client's ``list_org_members``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from governor.neon.errors import NeonUsageError
from governor.simulator import Simulator, World
from governor.simulator.world import WorldError
from tests.conftest import WORLD_NOW
from tests.neon.helpers import PERSONAL_SIM_KEY, virtual_client
from tests.neon.virtual_time import VirtualClock
from tests.openapi import validate_response
from tests.simulator.conftest import NO_LIMITS, Api
from tests.simulator.worlds import (
    ORG_TOKEN,
    OTHER_ORG_ID,
    OTHER_ORG_TOKEN,
    PROJECT_TOKEN,
    STAMP,
    TINY_ORG_ID,
    tiny_world_data,
)

ALICE_ID = "0c9d9e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"  # created_by.id of the tiny world's keys
MEMBERS = f"/organizations/{TINY_ORG_ID}/members"


def member(user_id: str, email: str, org_id: str = TINY_ORG_ID, **extra: Any) -> dict[str, Any]:
    member_id = extra.pop("member_id", f"5fee13ac-957b-40cd-8de0-{user_id[-12:]}")
    return {
        "member": {
            "id": member_id,
            "user_id": user_id,
            "org_id": org_id,
            "role": "admin",
            "joined_at": STAMP,
            **extra,
        },
        "user": {"email": email},
    }


def world_with_members() -> dict[str, Any]:
    data = tiny_world_data()
    data["organizations"][0]["members"] = [
        member(ALICE_ID, "alice@example.com"),
        member("6df052ac-ca9a-4321-8963-b6507b2d7dee", "bob@example.com", role="member"),
    ]
    return data


def client_world() -> tuple[dict[str, Any], World]:
    """The world with members, plus the personal token ``virtual_client`` sends."""
    data = world_with_members()
    data["keys"][PERSONAL_SIM_KEY] = {"kind": "personal"}
    return data, World.from_dict(data)


def test_members_round_trip_and_an_absent_list_stays_absent() -> None:
    data = world_with_members()
    assert World.from_dict(data).to_dict() == data
    plain = tiny_world_data()
    assert World.from_dict(plain).to_dict() == plain
    empty = tiny_world_data()
    empty["organizations"][1]["members"] = []
    assert World.from_dict(empty).to_dict() == empty


def test_members_are_not_part_of_the_organization_object() -> None:
    world = World.from_dict(world_with_members())
    assert "members" not in world.organizations_by_id[TINY_ORG_ID]
    assert [m["user"]["email"] for m in world.org_members[TINY_ORG_ID]] == [
        "alice@example.com",
        "bob@example.com",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: m.update(member="x"), "members[0].member: expected an object"),
        (lambda m: m["member"].pop("user_id"), "members[0].member.user_id"),
        (lambda m: m["member"].update(org_id=OTHER_ORG_ID), "members[0].member.org_id"),
        (lambda m: m.pop("user"), "members[0].user: expected an object"),
    ],
)
def test_bad_members_name_the_json_path(
    change: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    data = world_with_members()
    change(data["organizations"][0]["members"][0])
    with pytest.raises(WorldError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        World.from_dict(data)


def test_duplicate_member_ids_are_refused() -> None:
    data = world_with_members()
    first = data["organizations"][0]["members"][0]
    data["organizations"][0]["members"][1]["member"]["id"] = first["member"]["id"]
    with pytest.raises(WorldError, match="duplicate member id"):
        World.from_dict(data)


@pytest.mark.spec
@pytest.mark.usefixtures("spec")
def test_the_route_serves_members_to_whoever_may_read_the_orgs_keys(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(world=World.from_dict(world_with_members()))
    for token in (None, ORG_TOKEN):  # None: the default, personal token
        response = api.get(MEMBERS) if token is None else api.get(MEMBERS, token)
        assert response.status_code == 200
        assert response.json() == {"members": world_with_members()["organizations"][0]["members"]}
        validate_response("GET", "/organizations/{org_id}/members", 200, response.json())
    assert api.simulator.request_log[-1].route == "GET /organizations/{org_id}/members"
    other = api.get(f"/organizations/{OTHER_ORG_ID}/members")
    assert other.json() == {"members": []}  # no list in the file: none
    for path, token, status in [
        (MEMBERS, OTHER_ORG_TOKEN, 403),
        (MEMBERS, PROJECT_TOKEN, 403),
        ("/organizations/org-nowhere-1/members", ORG_TOKEN, 404),  # as for its api_keys
        ("/organizations/org-nowhere-1/members", None, 404),
    ]:
        response = api.get(path) if token is None else api.get(path, token)
        assert response.status_code == status, (path, response.text)
        validate_response("GET", "/organizations/{org_id}/members", status, response.json())
    assert api.get(f"/organizations/{TINY_ORG_ID}/api_keys", PROJECT_TOKEN).status_code == 403


def _strip_members(data: dict[str, Any]) -> dict[str, Any]:
    for org in data["organizations"]:
        org.pop("members", None)
    return data


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_members_are_key_creators_and_change_nothing_else(seed: int) -> None:
    plain = World.generate(seed=seed, orgs=3, projects=6, branches=20, now=WORLD_NOW).to_dict()
    rich = World.generate(
        seed=seed, orgs=3, projects=6, branches=20, now=WORLD_NOW, members=True
    ).to_dict()
    again = World.generate(
        seed=seed, orgs=3, projects=6, branches=20, now=WORLD_NOW, members=True
    ).to_dict()
    assert rich == again
    assert all("members" not in org for org in plain["organizations"])
    for org in rich["organizations"]:
        creators = {key["created_by"]["id"]: key["created_by"] for key in org["api_keys"]}
        members = org["members"]
        assert len(members) == 2
        emails = [item["user"]["email"] for item in members]
        assert len(set(emails)) == len(emails)
        assert [item["member"]["role"] for item in members] == ["admin", "member"]
        for item in members:
            creator = creators[item["member"]["user_id"]]
            assert item["member"]["org_id"] == org["id"]
            assert item["user"]["email"] == f"{creator['name'].lower()}@example.com"
    assert _strip_members(rich) == plain
    assert World.from_dict(rich).to_dict() == rich


@pytest.mark.anyio
async def test_the_client_lists_members_verbatim() -> None:
    clock = VirtualClock()
    data, world = client_world()
    simulator = Simulator(world, NO_LIMITS, clock=clock, now=lambda: WORLD_NOW)

    async with virtual_client(simulator, clock) as client:
        members = await clock.run(client.list_org_members(TINY_ORG_ID))
        none = await clock.run(client.list_org_members(OTHER_ORG_ID))

    assert [m.raw for m in members] == data["organizations"][0]["members"]
    assert [(m.user_id, m.email, m.member.role) for m in members] == [
        (ALICE_ID, "alice@example.com", "admin"),
        ("6df052ac-ca9a-4321-8963-b6507b2d7dee", "bob@example.com", "member"),
    ]
    assert none == []
    assert "example.com" not in repr(members[0])  # the email is sensitive


@pytest.mark.anyio
@pytest.mark.parametrize("org_id", ["..", "a/b", "%2e%2e", "Org-Upper", "", None])
async def test_a_hostile_org_id_is_refused_before_anything_is_sent(org_id: Any) -> None:
    clock = VirtualClock()
    _, world = client_world()
    simulator = Simulator(world, NO_LIMITS, clock=clock, now=lambda: WORLD_NOW)

    async with virtual_client(simulator, clock) as client:
        with pytest.raises(NeonUsageError) as caught:
            await clock.run(client.list_org_members(org_id))

    assert caught.value.parameter == "org_id"
    assert simulator.request_log == []
