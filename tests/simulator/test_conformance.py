"""Every kind of answer the simulator gives validates against Neon's official spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from governor.simulator import SimulatorOptions, World
from tests.conftest import WORLD_NOW
from tests.openapi import validate_request_body, validate_response, validate_schema
from tests.simulator.conftest import NO_LIMITS, Api
from tests.simulator.worlds import (
    OTHER_ORG_TOKEN,
    PROJECT_TOKEN,
    TINY_ORG_ID,
    TINY_PROJECT_ID,
    tiny_world_data,
)

pytestmark = [pytest.mark.spec, pytest.mark.usefixtures("spec")]
TINY = f"/projects/{TINY_PROJECT_ID}"
BRANCH = "/projects/{project_id}/branches/{branch_id}"
ENDPOINT = "/projects/{project_id}/endpoints/{endpoint_id}"
ORG_KEY = "/organizations/{org_id}/api_keys/{key_id}"
EXPIRY = "2026-12-01T00:00:00Z"
ENDPOINT_CHANGE = {"autoscaling_limit_max_cu": 2, "suspend_timeout_seconds": 300}
BAD_ENDPOINT_CHANGE = {"endpoint": {"autoscaling_limit_min_cu": 0.1}}


def assert_conforms(api: Api, response: httpx.Response) -> None:
    """Validate ``response`` against the spec entry of the route the simulator logged."""
    record = api.simulator.request_log[-1]
    assert record.status == response.status_code
    body: Any = response.json() if response.content else None
    if record.route.endswith("(unmatched)"):
        validate_schema("GeneralError", body)
        return
    method, template = record.route.split(" ", 1)
    validate_response(method, template, response.status_code, body)


def test_generated_world_objects_validate_against_the_spec_schemas() -> None:
    for seed in (1, 2, 3):
        data = World.generate(
            seed=seed, orgs=3, projects=20, branches=150, now=WORLD_NOW, members=True
        ).to_dict()
        projects = [project for org in data["organizations"] for project in org["projects"]]
        # every kind of object is there to validate (a loop over nothing checks nothing)
        assert data["personal_api_keys"]
        assert all(org["api_keys"] for org in data["organizations"])
        assert [branch for project in projects for branch in project["branches"]]
        assert [endpoint for project in projects for endpoint in project["endpoints"]]
        for key in data["personal_api_keys"]:
            validate_schema("ApiKeysListResponseItem", key)
        for org in data["organizations"]:
            validate_schema(
                "Organization",
                {k: v for k, v in org.items() if k not in ("api_keys", "members", "projects")},
            )
            for key in org["api_keys"]:
                validate_schema("OrgApiKeysListResponseItem", key)
            assert org["members"]
            validate_schema("OrganizationMembersResponse", {"members": org["members"]})
            for project in org["projects"]:
                validate_schema(
                    "Project",
                    {k: v for k, v in project.items() if k not in ("branches", "endpoints")},
                )
                for branch in project["branches"]:
                    validate_schema("Branch", branch)
                for endpoint in project["endpoints"]:
                    validate_schema("Endpoint", endpoint)


def test_every_read_answer_conforms(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api()
    for path, params in [
        ("/auth", {}),
        ("/users/me/organizations", {}),
        (f"/organizations/{TINY_ORG_ID}", {}),
        (f"/organizations/{TINY_ORG_ID}/api_keys", {}),
        (f"/organizations/{TINY_ORG_ID}/members", {}),
        ("/api_keys", {}),
        ("/projects", {"org_id": TINY_ORG_ID, "limit": 1}),
        ("/projects", {"org_id": TINY_ORG_ID, "search": "tiny"}),
        (TINY, {}),
        (f"{TINY}/branches", {}),
        (f"{TINY}/branches", {"limit": 2, "sort_by": "name", "sort_order": "asc"}),
        (f"{TINY}/branches/br-main-1", {}),
        (f"{TINY}/endpoints", {}),
        (f"{TINY}/endpoints/ep-main-1", {}),
        (f"{TINY}/operations", {}),
    ]:
        response = api.get(path, **params)
        assert response.status_code == 200, (path, response.text)
        assert_conforms(api, response)


def test_project_list_items_conform_for_a_generated_world(tiny_api: Callable[..., Api]) -> None:
    world = World.generate(seed=2, orgs=1, projects=30, branches=60, now=WORLD_NOW)
    api = tiny_api(world=world)
    token = f"sim-org-key-{world.organizations[0]['id']}"
    response = api.get("/projects", token, limit=400)
    assert len(response.json()["projects"]) == 30
    assert_conforms(api, response)


def test_every_mutation_answer_and_request_body_conforms(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(
        SimulatorOptions(
            requests_per_minute=None,
            requests_per_second_per_route=None,
            operation_seconds=(1.0, 1.0),
        )
    )
    mutations: list[tuple[str, str, str, Any]] = [
        ("PATCH", f"{TINY}/branches/br-preview-1", BRANCH, {"branch": {"expires_at": EXPIRY}}),
        ("PATCH", f"{TINY}/endpoints/ep-main-1", ENDPOINT, {"endpoint": ENDPOINT_CHANGE}),
        ("POST", f"{TINY}/endpoints/ep-main-1/start", f"{ENDPOINT}/start", None),
        ("POST", f"{TINY}/endpoints/ep-main-1/suspend", f"{ENDPOINT}/suspend", None),
        ("DELETE", f"{TINY}/branches/br-feature-1", BRANCH, None),
        ("DELETE", f"{TINY}/branches/br-feature-1", BRANCH, None),
        ("DELETE", "/api_keys/1001", "/api_keys/{key_id}", None),
        ("DELETE", f"/organizations/{TINY_ORG_ID}/api_keys/2002", ORG_KEY, None),
    ]
    statuses = []
    for method, path, template, body in mutations:
        if body is not None:
            validate_request_body(method, template, body)
        response = api.call(method, path, json=body)
        statuses.append(response.status_code)
        assert_conforms(api, response)
        api.clock.advance(5.0)  # let the operations finish before the next mutation
    assert statuses == [200, 200, 200, 200, 200, 204, 200, 200]
    operation = api.get(f"{TINY}/operations").json()["operations"][0]
    response = api.get(f"{TINY}/operations/{operation['id']}")
    assert response.json()["operation"]["status"] == "finished"
    assert_conforms(api, response)


def test_retried_woken_and_outside_operations_conform(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(
        SimulatorOptions(
            requests_per_minute=None,
            requests_per_second_per_route=None,
            operation_seconds=(1.0, 1.0),
            operation_retry_fraction=1.0,
            operation_retry_seconds=2.0,
        )
    )
    body = {"endpoint": {"suspend_timeout_seconds": 300}}
    validate_request_body("PATCH", ENDPOINT, body)
    woken = api.call("PATCH", f"{TINY}/endpoints/ep-main-1", json=body)  # idle: a wake-up
    assert_conforms(api, woken)
    operation_id = woken.json()["operations"][0]["id"]
    api.clock.advance(1.5)
    failed = api.get(f"{TINY}/operations/{operation_id}")
    assert failed.json()["operation"]["retry_at"]
    assert_conforms(api, failed)
    assert_conforms(api, api.get(f"{TINY}/endpoints/ep-main-1"))
    api.clock.advance(10.0)
    api.simulator.start_system_operation(TINY_PROJECT_ID, endpoint_id="ep-main-1")
    listed = api.get(f"{TINY}/operations")
    assert [op["action"] for op in listed.json()["operations"]] == [
        "check_availability",
        "suspend_compute",
        "apply_config",
    ]
    assert_conforms(api, listed)
    assert_conforms(api, api.get(f"{TINY}/operations/{operation_id}"))


def test_every_error_answer_conforms(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=2))
    cases: list[tuple[int, Callable[[], httpx.Response]]] = [
        (401, lambda: api.get("/projects", None)),
        (401, lambda: api.get("/projects", "no-such-token")),
        (403, lambda: api.get("/users/me/organizations", PROJECT_TOKEN)),
        (403, lambda: api.get(TINY, OTHER_ORG_TOKEN)),
        (404, lambda: api.get("/projects/no-such-project")),
        (404, lambda: api.get("/no/such/route")),
        (400, lambda: api.get("/projects", org_id=TINY_ORG_ID, limit=401)),
        (400, lambda: api.get("/projects")),
        (422, lambda: api.call("DELETE", f"{TINY}/branches/br-main-1")),
        (400, lambda: api.call("PATCH", f"{TINY}/endpoints/ep-main-1", json=BAD_ENDPOINT_CHANGE)),
        (200, lambda: api.call("POST", f"{TINY}/endpoints/ep-main-1/start")),
        (423, lambda: api.call("POST", f"{TINY}/endpoints/ep-main-1/suspend")),
        (200, lambda: api.get(TINY)),
        (429, lambda: api.get(TINY)),
    ]
    for expected, send in cases:
        response = send()
        assert response.status_code == expected, response.text
        assert_conforms(api, response)


@pytest.mark.parametrize(("option", "status"), [("fail_500", 500), ("fail_503", 503)])
def test_injected_server_errors_conform(
    tiny_api: Callable[..., Api], option: str, status: int
) -> None:
    options = SimulatorOptions(
        requests_per_minute=None, requests_per_second_per_route=None, seed=1, **{option: 1.0}
    )
    api = tiny_api(options)
    response = api.get(TINY)
    assert response.status_code == status
    assert_conforms(api, response)


def test_injected_524_is_an_html_page_like_cloudflares(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(
        SimulatorOptions(
            requests_per_minute=None, requests_per_second_per_route=None, seed=1, fail_524=1.0
        )
    )
    response = api.get(TINY)
    assert response.status_code == 524
    assert response.headers["content-type"].startswith("text/html")
    assert "524: A timeout occurred" in response.text


def test_the_tiny_world_itself_conforms() -> None:
    data = tiny_world_data()
    assert NO_LIMITS.requests_per_minute is None
    for org in data["organizations"]:
        for project in org["projects"]:
            for branch in project["branches"]:
                validate_schema("Branch", branch)
            for endpoint in project["endpoints"]:
                validate_schema("Endpoint", endpoint)
