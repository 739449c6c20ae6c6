"""The world file: loading, round trips, errors that name the JSON path, generation."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.simulator import World, WorldError
from tests.conftest import WORLD_NOW
from tests.simulator.worlds import PERSONAL_TOKEN, TINY_PROJECT_ID, tiny_world_data

ID_PATTERN = re.compile(r"^[a-z0-9-]{1,60}$")


def test_it_round_trips_the_file_shape_exactly(tmp_path: Path) -> None:
    data = tiny_world_data()
    world = World.from_dict(data)
    assert world.to_dict() == data
    path = tmp_path / "world.json"
    world.dump(path)
    assert World.load(path).to_dict() == data


def test_it_does_not_alias_the_callers_dict() -> None:
    data = tiny_world_data()
    world = World.from_dict(data)
    world.projects[TINY_PROJECT_ID].branches["br-main-1"]["name"] = "renamed"
    assert data["organizations"][0]["projects"][0]["branches"][0]["name"] == "main"


def test_keys_map_tokens_to_scopes_as_in_the_file() -> None:
    world = World.from_dict(tiny_world_data())
    assert world.keys[PERSONAL_TOKEN] == {"kind": "personal"}


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    data = tiny_world_data()
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


TINY_PROJECT = ["organizations", 0, "projects", 0]
AT_TINY = r"organizations\[0\]\.projects\[0\]"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ([*TINY_PROJECT, "branches", 1, "id"], 7, AT_TINY + r"\.branches\[1\]\.id: expected a non"),
        (
            [*TINY_PROJECT, "branches", 1, "parent_id"],
            "br-nowhere",
            AT_TINY + r"\.branches\[1\]\.parent_id: no branch 'br-nowhere'",
        ),
        (
            [*TINY_PROJECT, "endpoints", 0, "branch_id"],
            "br-gone",
            AT_TINY + r"\.endpoints\[0\]\.branch_id: no branch 'br-gone'",
        ),
        (
            ["organizations", 1, "projects", 0, "branches", 0, "project_id"],
            "elsewhere",
            r"organizations\[1\]\.projects\[0\]\.branches\[0\]\.project_id: expected",
        ),
        (
            ["organizations", 0, "api_keys", 1, "id"],
            "2002",
            r"organizations\[0\]\.api_keys\[1\]\.id: expected an integer",
        ),
        (["personal_api_keys"], {}, r"at personal_api_keys: expected an array"),
        (TINY_PROJECT[:3], "none", r"organizations\[0\]\.projects: expected an array"),
    ],
)
def test_bad_worlds_name_the_json_path(path: list[Any], value: Any, expected: str) -> None:
    with pytest.raises(WorldError, match=expected):
        World.from_dict(_broken(path, value))


def test_it_refuses_key_scopes_that_point_nowhere_without_showing_the_token() -> None:
    data = tiny_world_data()
    data["keys"][PERSONAL_TOKEN] = {"kind": "project", "org_id": "org-tiny-11111111"}
    with pytest.raises(WorldError) as caught:
        World.from_dict(data)
    assert "project_id" in str(caught.value)
    assert PERSONAL_TOKEN not in str(caught.value)


def test_it_refuses_duplicate_ids() -> None:
    data = tiny_world_data()
    data["organizations"][1]["projects"][0]["id"] = TINY_PROJECT_ID
    for branch in data["organizations"][1]["projects"][0]["branches"]:
        branch["project_id"] = TINY_PROJECT_ID
    with pytest.raises(WorldError, match=r"organizations\[1\]\.projects\[0\]\.id: duplicate"):
        World.from_dict(data)


def test_loading_names_the_file_and_the_json_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"keys": {', encoding="utf-8")
    with pytest.raises(WorldError, match=r"broken\.json: not valid JSON at line 1"):
        World.load(path)
    with pytest.raises(WorldError, match=r"missing\.json: cannot read world file"):
        World.load(tmp_path / "missing.json")


def test_generation_is_deterministic_for_a_seed_and_now() -> None:
    first = World.generate(seed=7, orgs=2, projects=10, branches=60, now=WORLD_NOW).to_dict()
    second = World.generate(seed=7, orgs=2, projects=10, branches=60, now=WORLD_NOW).to_dict()
    other = World.generate(seed=8, orgs=2, projects=10, branches=60, now=WORLD_NOW).to_dict()
    assert json.dumps(first) == json.dumps(second)
    assert json.dumps(first) != json.dumps(other)


def test_generation_honours_the_totals() -> None:
    counts = World.generate(seed=3, orgs=3, projects=30, branches=250, now=WORLD_NOW).counts()
    assert (counts["organizations"], counts["projects"], counts["branches"]) == (3, 30, 250)


def test_generation_refuses_impossible_totals() -> None:
    with pytest.raises(ValueError, match="default branch"):
        World.generate(seed=1, orgs=1, projects=5, branches=3, now=WORLD_NOW)


def _age_days(text: str) -> float:
    return (WORLD_NOW - datetime.fromisoformat(text)) / timedelta(days=1)


def test_the_default_generated_world_has_the_realistic_mix() -> None:
    world = World.generate(seed=1, orgs=2, projects=24, branches=200, now=WORLD_NOW)
    branches = [b for state in world.projects.values() for b in state.branches.values()]
    endpoints = [e for state in world.projects.values() for e in state.endpoints.values()]
    parents = {b.get("parent_id") for b in branches}
    with_compute = {e["branch_id"] for e in endpoints}

    assert all(b["default"] == ("parent_id" not in b) for b in branches)
    assert any(b["default"] and b["protected"] for b in branches)
    assert any(b["default"] and not b["protected"] for b in branches)
    assert any(b["name"].startswith("preview/pr-") for b in branches)
    assert any(b["id"] in parents and not b["default"] for b in branches)
    assert any(b["current_state"] == "archived" for b in branches)
    assert any("expires_at" in b for b in branches)
    assert any(b["id"] not in with_compute for b in branches)
    stale = [b for b in branches if _age_days(b["updated_at"]) >= 40]
    assert stale
    assert all(40 <= _age_days(b["created_at"]) <= 400 for b in stale if not b["default"])
    assert any(_age_days(b["created_at"]) < 10 for b in branches)

    assert all(
        any(
            e["type"] == "read_write" for e in world.projects[b["project_id"]].endpoints_of(b["id"])
        )
        for b in branches
        if b["default"]
    )
    assert any(e["type"] == "read_only" for e in endpoints)
    assert {e["suspend_timeout_seconds"] for e in endpoints} >= {0, 300, -1}
    assert any(
        e["autoscaling_limit_min_cu"] == e["autoscaling_limit_max_cu"] >= 8 for e in endpoints
    )
    assert any(e["current_state"] == "idle" and _age_days(e["last_active"]) > 40 for e in endpoints)
    assert any(e["current_state"] == "active" for e in endpoints)
    assert all(1024 * 1024 <= b["logical_size"] <= 500 * 1024**3 for b in branches)

    personal = world.personal_api_keys
    assert any(k["last_used_at"] is None for k in personal)
    assert any(k["last_used_at"] and _age_days(k["last_used_at"]) > 100 for k in personal)
    assert any(k["last_used_at"] and _age_days(k["last_used_at"]) < 1 for k in personal)
    org_keys = [k for keys in world.org_api_keys.values() for k in keys]
    assert any("project_id" in k for k in org_keys)
    assert any("project_id" not in k for k in org_keys)


def test_generated_branch_rules_hold() -> None:
    world = World.generate(seed=5, orgs=2, projects=40, branches=400, now=WORLD_NOW)
    branches = [b for state in world.projects.values() for b in state.branches.values()]
    # both rules have branches to hold for (a loop over none of them checks nothing)
    assert [branch for branch in branches if "expires_at" in branch]
    assert [branch for branch in branches if branch.get("parent_id")]
    for state in world.projects.values():
        for branch in state.branches.values():
            if "expires_at" in branch:
                assert not branch["protected"]
                assert not branch["default"]
                assert not state.children_of(branch["id"])
                assert datetime.fromisoformat(branch["expires_at"]) > WORLD_NOW
            if branch.get("parent_id"):
                parent = state.branches[branch["parent_id"]]
                assert parent["created_at"] <= branch["created_at"]


def test_generated_ids_follow_neon_patterns_and_keys_include_the_sim_tokens() -> None:
    world = World.generate(seed=1, orgs=2, projects=24, branches=200, now=WORLD_NOW)
    for org in world.organizations:
        assert org["id"].startswith("org-")
        assert ID_PATTERN.match(org["id"])
        assert world.keys[f"sim-org-key-{org['id']}"] == {"kind": "org", "org_id": org["id"]}
    for state in world.projects.values():
        assert ID_PATTERN.match(state.project_id)
        assert re.match(r"^[a-z]+-[a-z]+-\d{8}$", state.project_id)
        assert all(b.startswith("br-") and ID_PATTERN.match(b) for b in state.branches)
        assert all(e.startswith("ep-") and ID_PATTERN.match(e) for e in state.endpoints)
    assert world.keys["sim-personal-key"] == {"kind": "personal"}
    assert world.keys["sim-project-key"]["kind"] == "project"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", world.organizations[0]["created_at"])
