"""Path ids are checked before anything is sent (issue #10: ``..`` once meant a project delete)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from governor.neon.client import NeonClient
from governor.neon.errors import NeonApiError, NeonError, NeonUsageError
from governor.neon.ids import NEON_ID, RULES, fill_path
from governor.simulator import Simulator, SimulatorOptions, World
from tests.conftest import WORLD_NOW
from tests.neon.helpers import virtual_client
from tests.neon.virtual_time import VirtualClock
from tests.neon.world_facts import facts_of

NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)
Invoke = Callable[[NeonClient, dict[str, Any]], Awaitable[Any]]

# Every client method with a path parameter, and the parameters it puts in the path.
CALLS: dict[str, tuple[tuple[str, ...], Invoke]] = {
    "get_organization": (("org_id",), lambda c, v: c.get_organization(v["org_id"])),
    "list_org_api_keys": (("org_id",), lambda c, v: c.list_org_api_keys(v["org_id"])),
    "get_project": (("project_id",), lambda c, v: c.get_project(v["project_id"])),
    "iter_branch_pages": (
        ("project_id",),
        lambda c, v: anext(c.iter_branch_pages(v["project_id"]), None),
    ),
    "get_branch": (
        ("project_id", "branch_id"),
        lambda c, v: c.get_branch(v["project_id"], v["branch_id"]),
    ),
    "list_endpoints": (("project_id",), lambda c, v: c.list_endpoints(v["project_id"])),
    "get_endpoint": (
        ("project_id", "endpoint_id"),
        lambda c, v: c.get_endpoint(v["project_id"], v["endpoint_id"]),
    ),
    "get_operation": (
        ("project_id", "operation_id"),
        lambda c, v: c.get_operation(v["project_id"], v["operation_id"]),
    ),
    "iter_operations": (
        ("project_id",),
        lambda c, v: anext(c.iter_operations(v["project_id"]), None),
    ),
    "update_branch": (
        ("project_id", "branch_id"),
        lambda c, v: c.update_branch(v["project_id"], v["branch_id"], name="renamed"),
    ),
    "delete_branch": (
        ("project_id", "branch_id"),
        lambda c, v: c.delete_branch(v["project_id"], v["branch_id"]),
    ),
    "update_endpoint": (
        ("project_id", "endpoint_id"),
        lambda c, v: c.update_endpoint(
            v["project_id"], v["endpoint_id"], suspend_timeout_seconds=300
        ),
    ),
    "suspend_endpoint": (
        ("project_id", "endpoint_id"),
        lambda c, v: c.suspend_endpoint(v["project_id"], v["endpoint_id"]),
    ),
    "start_endpoint": (
        ("project_id", "endpoint_id"),
        lambda c, v: c.start_endpoint(v["project_id"], v["endpoint_id"]),
    ),
    "revoke_personal_api_key": (
        ("key_id",),
        lambda c, v: c.revoke_personal_api_key(v["key_id"]),
    ),
    "revoke_org_api_key": (
        ("org_id", "key_id"),
        lambda c, v: c.revoke_org_api_key(v["org_id"], v["key_id"]),
    ),
}
CALL_PARAMS = [(call, param) for call, (params, _) in CALLS.items() for param in params]
HOSTILE = [
    "..",
    ".",
    "a/b",
    "../..",
    "%2e%2e",
    "%2F",
    "",
    " ",
    "br-x\n",
    "\t",
    "br x",
    "ep-ünïcode",
    "\uff41\uff42\uff43",  # full-width letters
    "Wispy-Bird-1",
    "a" * 500,
    "br-x?y=1",
    "br-x#frag",
    None,
]
HOSTILE_KEY_IDS = [0, -1, True, 2**63, 1.5, "123"]


def small_world() -> World:
    return World.generate(seed=1, orgs=2, projects=6, branches=30, now=WORLD_NOW)


def genuine_values(simulator: Simulator) -> dict[str, Any]:
    """Real ids of one organization, its first project, branch, compute, keys."""
    world = facts_of(simulator.world.to_dict())
    org_id = world.organizations[0]["id"]
    project = world.projects_of(org_id)[0]
    branch = world.branches_of(project["id"])[-1]
    return {
        "org_id": org_id,
        "project_id": project["id"],
        "branch_id": branch["id"],
        "endpoint_id": world.endpoints_of(project["id"])[0]["id"],
        "operation_id": "8b6a2f6e-1a0c-4d0e-9a39-2f1f6c2f7a11",
        "key_id": world.org_api_keys[org_id][0]["id"],
        "personal_key_id": world.personal_api_keys[0]["id"],
    }


@pytest.mark.anyio
@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize(("call", "param"), CALL_PARAMS)
async def test_a_hostile_path_id_is_refused_before_anything_is_sent(
    call: str, param: str, value: Any
) -> None:
    await _assert_refused(call, param, value)


@pytest.mark.anyio
@pytest.mark.parametrize("value", HOSTILE_KEY_IDS, ids=repr)
@pytest.mark.parametrize(
    ("call", "param"), [(call, param) for call, param in CALL_PARAMS if param == "key_id"]
)
async def test_a_key_id_must_be_a_positive_int64(call: str, param: str, value: Any) -> None:
    await _assert_refused(call, param, value)


async def _assert_refused(call: str, param: str, value: Any) -> None:
    clock = VirtualClock()
    simulator = Simulator(small_world(), NO_LIMITS, clock=clock, now=lambda: WORLD_NOW)
    values = {**genuine_values(simulator), param: value}
    _, invoke = CALLS[call]

    async with virtual_client(simulator, clock) as client:
        with pytest.raises(NeonUsageError) as caught:
            await clock.run(_awaited(invoke(client, values)))

    assert simulator.request_log == []
    assert client.requests == 0
    error = caught.value
    assert error.parameter == param
    assert error.value == value
    message = str(error)
    assert param in message
    assert "nothing was sent" in message
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
    assert shown in message
    assert len(message) < 200


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


@pytest.mark.anyio
@pytest.mark.parametrize("call", list(CALLS))
async def test_genuine_ids_pass_and_reach_the_simulator(call: str) -> None:
    clock = VirtualClock()
    simulator = Simulator(small_world(), NO_LIMITS, clock=clock, now=lambda: WORLD_NOW)
    values = genuine_values(simulator)
    if call == "revoke_personal_api_key":
        values["key_id"] = values["personal_key_id"]
    _, invoke = CALLS[call]

    async with virtual_client(simulator, clock) as client:
        with contextlib.suppress(NeonApiError):
            await clock.run(_awaited(invoke(client, values)))

    (record,) = simulator.request_log
    # The made-up operation id is unknown to Neon: an answer, not a refusal.
    assert record.status == (404 if call == "get_operation" else 200)


def test_a_refusal_is_a_neon_error_and_a_value_error_but_never_an_api_error() -> None:
    with pytest.raises(NeonUsageError) as caught:
        fill_path(
            "/projects/{project_id}/branches/{branch_id}", {"project_id": "p", "branch_id": ".."}
        )
    assert isinstance(caught.value, NeonError)
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, NeonApiError)
    assert "branch_id" in str(caught.value)


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("/projects/{project_id}/branches/..", {"project_id": "p"}),  # ids outside path_params
        ("/projects/wispy-bird-1/branches/%2e%2e", {}),
        ("/projects/{project_id!r}", {"project_id": "p"}),
        ("/projects/{project_id:>70}", {"project_id": "p"}),
        ("/projects/{project_id}", {}),  # missing
        ("/projects/{role_name}", {"role_name": "x"}),  # no rule for it
    ],
)
def test_routes_that_could_smuggle_a_path_are_refused(
    template: str, params: dict[str, Any]
) -> None:
    with pytest.raises(NeonUsageError):
        fill_path(template, params)


def test_every_id_of_generated_worlds_passes() -> None:
    for seed in range(1, 6):
        world = facts_of(World.generate(seed=seed, now=WORLD_NOW).to_dict())
        # every kind of id is there to check (a loop over nothing passes vacuously)
        assert world.organizations
        assert world.personal_api_keys
        assert world.branches
        assert world.endpoints
        assert any(world.org_api_keys.get(org["id"]) for org in world.organizations)
        for org in world.organizations:
            fill_path("/organizations/{org_id}", {"org_id": org["id"]})
            for key in world.org_api_keys.get(org["id"], []):
                fill_path(
                    "/organizations/{org_id}/api_keys/{key_id}",
                    {"org_id": org["id"], "key_id": key["id"]},
                )
        for key in world.personal_api_keys:
            fill_path("/api_keys/{key_id}", {"key_id": key["id"]})
        for branch in world.branches:
            fill_path(
                "/projects/{project_id}/branches/{branch_id}",
                {"project_id": branch["project_id"], "branch_id": branch["id"]},
            )
        for endpoint in world.endpoints:
            fill_path(
                "/projects/{project_id}/endpoints/{endpoint_id}",
                {"project_id": endpoint["project_id"], "endpoint_id": endpoint["id"]},
            )


@pytest.mark.anyio
async def test_operation_ids_the_simulator_hands_out_pass() -> None:
    clock = VirtualClock()
    simulator = Simulator(small_world(), NO_LIMITS, clock=clock, now=lambda: WORLD_NOW)
    values = genuine_values(simulator)

    async def suspend_and_poll() -> None:
        result = await client.suspend_endpoint(values["project_id"], values["endpoint_id"])
        assert result.operations
        for operation in result.operations:
            await client.get_operation(operation.project_id, operation.id)

    async with virtual_client(simulator, clock) as client:
        await clock.run(suspend_and_poll())

    assert [record.status for record in simulator.request_log] == [200] * len(simulator.request_log)


def test_the_rules_are_the_specs_own(spec: dict[str, Any]) -> None:
    """The spec's path parameter schemas, for every parameter the client puts in a path."""
    schemas: dict[str, list[dict[str, Any]]] = {}
    examples: dict[str, set[str]] = {}
    for operations in spec["paths"].values():
        shared = operations.get("parameters", [])
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for declared in [*shared, *operation.get("parameters", [])]:
                parameter = declared
                if "$ref" in declared:
                    parameter = spec["components"]["parameters"][declared["$ref"].split("/")[-1]]
                if parameter.get("in") == "path" and parameter["name"] in RULES:
                    schemas.setdefault(parameter["name"], []).append(parameter["schema"])
    _collect_examples(spec, examples)

    assert set(schemas) == set(RULES)
    for name in ("project_id", "branch_id", "endpoint_id", "org_id"):
        assert {schema["pattern"] for schema in schemas[name]} == {f"^{NEON_ID.pattern}$"}
        for example in examples[name]:
            fill_path(f"/x/{{{name}}}", {name: example})
    assert {schema.get("format") for schema in schemas["operation_id"]} == {"uuid"}
    assert {(schema["type"], schema["format"]) for schema in schemas["key_id"]} == {
        ("integer", "int64")
    }


def _collect_examples(node: Any, found: dict[str, set[str]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in RULES and isinstance(value, str):
                found.setdefault(key, set()).add(value)
            _collect_examples(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_examples(value, found)
