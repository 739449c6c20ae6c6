"""A client written only from the spec pages through a world over loopback HTTP and gets
exactly the world's objects back; pagination, limits and key scopes behave as documented."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from governor.simulator import Simulator, SimulatorOptions, World
from governor.simulator.reads import ORG_ID_REQUIRED, project_list_item
from governor.simulator.world import PROJECT_NESTING_KEYS
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.simulator.conftest import Api
from tests.simulator.worlds import (
    ORG_TOKEN,
    OTHER_ORG_ID,
    OTHER_ORG_TOKEN,
    PERSONAL_TOKEN,
    PROJECT_TOKEN,
    SECOND_PROJECT_ID,
    TINY_ORG_ID,
    TINY_PROJECT_ID,
)


@pytest.fixture(scope="module")
def world_data() -> dict[str, Any]:
    return World.generate(seed=1, orgs=2, projects=24, branches=200, now=WORLD_NOW).to_dict()


@pytest.fixture
def served(
    served_simulator: Callable[..., ServedSimulator], world_data: dict[str, Any]
) -> Iterator[tuple[Simulator, httpx.Client]]:
    simulator, base_url = served_simulator(World.from_dict(world_data))
    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        yield simulator, client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def all_projects(client: httpx.Client, token: str, limit: int, **params: Any) -> list[Any]:
    """Spec style 1: follow ``pagination.cursor`` until a page comes back empty."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        query = {"limit": limit, **params} | ({"cursor": cursor} if cursor else {})
        response = client.get("/projects", params=query, headers=bearer(token))
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["projects"]:
            return items
        assert len(page["projects"]) <= limit
        items.extend(page["projects"])
        cursor = page["pagination"]["cursor"]


def all_branches(client: httpx.Client, token: str, project_id: str, **params: Any) -> list[Any]:
    """Spec style 2: pass ``pagination.next`` back as ``cursor`` until a page is empty."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = client.get(
            f"/projects/{project_id}/branches", params=query, headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["branches"]:
            return items
        items.extend(page["branches"])
        cursor = page["pagination"]["next"]


def test_it_pages_projects_branches_endpoints_and_keys_back_exactly(
    served: tuple[Simulator, httpx.Client], world_data: dict[str, Any]
) -> None:
    _, client = served
    for org in world_data["organizations"]:
        token = f"sim-org-key-{org['id']}"
        listed = all_projects(client, token, limit=5)
        assert listed == [project_list_item(strip(p)) for p in org["projects"]]
        for project in org["projects"]:
            got = client.get(f"/projects/{project['id']}", headers=bearer(token)).json()
            assert got == {"project": strip(project)}
            branches = all_branches(client, token, project["id"], limit=3)
            assert sorted(branches, key=lambda b: b["id"]) == sorted(
                project["branches"], key=lambda b: b["id"]
            )
            endpoints = client.get(f"/projects/{project['id']}/endpoints", headers=bearer(token))
            assert endpoints.json() == {"endpoints": project["endpoints"]}
        keys = client.get(f"/organizations/{org['id']}/api_keys", headers=bearer(token))
        assert keys.json() == org["api_keys"]
    personal = client.get("/api_keys", headers=bearer("sim-personal-key"))
    assert personal.json() == world_data["personal_api_keys"]


def strip(project: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in project.items() if k not in PROJECT_NESTING_KEYS}


def test_project_list_items_drop_fields_the_list_lacks_and_add_active_time(
    world_data: dict[str, Any],
) -> None:
    project = strip(world_data["organizations"][0]["projects"][0])
    item = project_list_item(project)
    assert item["active_time"] == project["active_time_seconds"]
    assert "consumption_period_start" not in item
    assert "org_name" not in item
    assert {k: v for k, v in item.items() if k != "active_time"} == {
        k: v for k, v in project.items() if k in item
    }


def test_the_project_cursor_is_on_every_page_including_the_last(
    served: tuple[Simulator, httpx.Client], world_data: dict[str, Any]
) -> None:
    _, client = served
    org = world_data["organizations"][0]
    count = len(org["projects"])
    headers = bearer(f"sim-org-key-{org['id']}")
    last = client.get("/projects", params={"limit": count}, headers=headers).json()
    assert len(last["projects"]) == count
    assert last["pagination"]["cursor"] == org["projects"][-1]["id"]
    after = client.get(
        "/projects",
        params={"limit": count, "cursor": last["pagination"]["cursor"]},
        headers=headers,
    ).json()
    assert after["projects"] == []
    assert after["pagination"]["cursor"] == last["pagination"]["cursor"]


def test_projects_default_to_ten_per_page(
    served: tuple[Simulator, httpx.Client], world_data: dict[str, Any]
) -> None:
    _, client = served
    org = world_data["organizations"][0]
    page = client.get("/projects", headers=bearer(f"sim-org-key-{org['id']}")).json()
    assert len(org["projects"]) > 10
    assert len(page["projects"]) == 10


@pytest.mark.parametrize(
    ("path", "limit", "status"),
    [
        ("/projects", "0", 400),
        ("/projects", "401", 400),
        ("/projects", "ten", 400),
        ("/projects", "1", 200),
        ("/projects", "400", 200),
        ("/projects/{project}/branches", "0", 400),
        ("/projects/{project}/branches", "10001", 400),
        ("/projects/{project}/branches", "10000", 200),
        ("/projects/{project}/operations", "1001", 400),
        ("/projects/{project}/operations", "1000", 200),
    ],
)
def test_limits_outside_the_documented_bounds_are_refused(
    served: tuple[Simulator, httpx.Client],
    world_data: dict[str, Any],
    path: str,
    limit: str,
    status: int,
) -> None:
    _, client = served
    org = world_data["organizations"][0]
    url = path.format(project=org["projects"][0]["id"])
    response = client.get(url, params={"limit": limit}, headers=bearer(f"sim-org-key-{org['id']}"))
    assert response.status_code == status
    if status == 400:
        assert "limit" in response.json()["message"]


def test_branch_pages_follow_the_requested_order_and_always_carry_next(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api()
    path = f"/projects/{TINY_PROJECT_ID}/branches"
    names = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 4, "sort_by": "name", "sort_order": "asc"}
        page = api.get(path, **params, **({"cursor": cursor} if cursor else {})).json()
        assert page["pagination"]["next"]
        assert (page["pagination"]["sort_by"], page["pagination"]["sort_order"]) == ("name", "asc")
        if not page["branches"]:
            break
        pages += 1
        names.extend(branch["name"] for branch in page["branches"])
        cursor = page["pagination"]["next"]
    assert pages == 2
    assert names == sorted(["main", "dev", "dev/feature", "preview/pr-7", "guarded", "orphan-root"])
    newest_first = api.get(path).json()
    assert newest_first["branches"][0]["id"] == "br-dev-1"  # the only later updated_at
    assert "next" not in newest_first["pagination"]
    assert newest_first["annotations"] == {}


def test_branch_search_matches_partial_names_and_ids(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api()
    path = f"/projects/{TINY_PROJECT_ID}/branches"
    assert [b["id"] for b in api.get(path, search="FEAT").json()["branches"]] == ["br-feature-1"]
    assert [b["id"] for b in api.get(path, search="orphan-1").json()["branches"]] == ["br-orphan-1"]


def test_project_search_matches_partial_names_and_ids(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api()
    found = api.get("/projects", ORG_TOKEN, search="secon").json()["projects"]
    assert [p["id"] for p in found] == [SECOND_PROJECT_ID]
    found = api.get("/projects", ORG_TOKEN, search="11111111").json()["projects"]
    assert [p["id"] for p in found] == [TINY_PROJECT_ID]


def test_a_personal_key_must_name_the_organization(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api()
    response = api.get("/projects")
    assert response.status_code == 400
    assert response.json()["code"] == ""
    assert response.json()["message"] == ORG_ID_REQUIRED
    listed = api.get("/projects", org_id=OTHER_ORG_ID).json()["projects"]
    assert [p["org_id"] for p in listed] == [OTHER_ORG_ID]
    organizations = api.get("/users/me/organizations").json()["organizations"]
    assert [org["id"] for org in organizations] == [TINY_ORG_ID, OTHER_ORG_ID]


def test_an_org_key_infers_its_organization_and_is_refused_others(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api()
    listed = api.get("/projects", ORG_TOKEN).json()["projects"]
    assert [p["id"] for p in listed] == [TINY_PROJECT_ID, SECOND_PROJECT_ID]
    assert api.get("/projects", ORG_TOKEN, org_id=TINY_ORG_ID).status_code == 200
    assert api.get("/projects", ORG_TOKEN, org_id=OTHER_ORG_ID).status_code == 403
    organizations = api.get("/users/me/organizations", ORG_TOKEN).json()["organizations"]
    assert [org["id"] for org in organizations] == [TINY_ORG_ID]
    assert api.get(f"/organizations/{OTHER_ORG_ID}", ORG_TOKEN).status_code == 403
    assert api.get(f"/organizations/{OTHER_ORG_ID}/api_keys", ORG_TOKEN).status_code == 403
    assert api.get("/api_keys", ORG_TOKEN).status_code == 403
    assert api.get(f"/projects/{TINY_PROJECT_ID}", OTHER_ORG_TOKEN).status_code == 403


def test_a_project_key_sees_only_its_project(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api()
    listed = api.get("/projects", PROJECT_TOKEN).json()["projects"]
    assert [p["id"] for p in listed] == [TINY_PROJECT_ID]
    refused = api.get("/users/me/organizations", PROJECT_TOKEN)
    assert refused.status_code == 403
    assert "project-scoped" in refused.json()["message"]
    assert api.get(f"/projects/{SECOND_PROJECT_ID}", PROJECT_TOKEN).status_code == 403
    assert api.get(f"/projects/{TINY_PROJECT_ID}/branches", PROJECT_TOKEN).status_code == 200
    assert api.get(f"/organizations/{TINY_ORG_ID}/api_keys", PROJECT_TOKEN).status_code == 403
    assert api.get("/api_keys", PROJECT_TOKEN).status_code == 403


def test_unavailable_projects_are_listed_as_such_not_dropped(
    tiny_api: Callable[..., Api],
) -> None:
    options = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        unavailable_project_ids=frozenset({SECOND_PROJECT_ID}),
    )
    page = tiny_api(options).get("/projects", ORG_TOKEN).json()
    assert [p["id"] for p in page["projects"]] == [TINY_PROJECT_ID]
    assert page["unavailable_project_ids"] == [SECOND_PROJECT_ID]


def test_auth_errors_and_request_ids(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api()
    missing = api.get("/projects", None)
    assert missing.status_code == 401
    unknown = api.call("GET", "/projects", "wrong", headers={"X-Request-ID": "trace-42"})
    assert unknown.status_code == 401
    assert unknown.json()["request_id"] == "trace-42"
    assert unknown.headers["X-Request-ID"] == "trace-42"
    assert "wrong" not in unknown.text
    generated = api.get("/projects/nope")
    assert generated.status_code == 404
    assert generated.json()["request_id"] == generated.headers["X-Request-ID"]
    labels = {record.key_label for record in api.simulator.request_log}
    assert labels == {"anonymous", "unknown", "personal"}
    assert PERSONAL_TOKEN not in json.dumps([vars(r) for r in api.simulator.request_log])


def test_the_request_log_names_routes_by_template(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api()
    api.get(f"/projects/{TINY_PROJECT_ID}/branches", ORG_TOKEN)
    record = api.simulator.request_log[-1]
    assert record.route == "GET /projects/{project_id}/branches"
    assert record.path == f"/api/v2/projects/{TINY_PROJECT_ID}/branches"
    assert record.key_label == f"org:{TINY_ORG_ID}"
    assert record.status == 200


def test_get_auth_says_which_kind_of_key_asks(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api()
    personal = api.get("/auth").json()
    organization = api.get("/auth", ORG_TOKEN).json()
    project = api.get("/auth", PROJECT_TOKEN).json()
    assert personal["auth_method"] == "api_key_user"
    assert (organization["auth_method"], organization["account_id"]) == (
        "api_key_org",
        TINY_ORG_ID,
    )
    assert (project["auth_method"], project["auth_data"]) == ("api_key_org", TINY_PROJECT_ID)
    assert api.get("/auth", "not-a-known-token").status_code == 401
