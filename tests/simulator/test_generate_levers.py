"""Generated worlds hold every cost lever's resources, each valid as Neon would have it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from governor.rules.compute import size_problems, suspend_problems
from governor.rules.retention import retention_problems
from governor.simulator import World
from governor.simulator.generate import generate_world_data
from tests.conftest import WORLD_NOW

BACKUP_NAME = re.compile(r"^(?P<name>.+)_old_(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$")


def _world(seed: int) -> dict[str, Any]:
    return generate_world_data(seed=seed, orgs=4, projects=60, branches=600, now=WORLD_NOW)


def _projects(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(org["plan"], project) for org in data["organizations"] for project in org["projects"]]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("seed", [1, 4, 7])
def test_every_generated_compute_and_restore_window_is_one_neon_accepts_on_its_plan(
    seed: int,
) -> None:
    for plan, project in _projects(_world(seed)):
        assert retention_problems(project["history_retention_seconds"], plan) == []
        defaults = project["default_endpoint_settings"]
        low, high = defaults["autoscaling_limit_min_cu"], defaults["autoscaling_limit_max_cu"]
        assert size_problems(low, high) == []
        assert suspend_problems(defaults["suspend_timeout_seconds"], plan, low, high) == []
        for endpoint in project["endpoints"]:
            low, high = endpoint["autoscaling_limit_min_cu"], endpoint["autoscaling_limit_max_cu"]
            assert suspend_problems(endpoint["suspend_timeout_seconds"], plan, low, high) == []


def test_a_generated_world_holds_each_levers_resources() -> None:
    data = _world(1)
    projects = _projects(data)
    now = WORLD_NOW
    month_ago = now - timedelta(days=30)
    snapshots = [s for _, p in projects for s in p.get("snapshots", [])]
    manual = [s for s in snapshots if s["manual"]]
    assert any(_time(s["created_at"]) < month_ago and "expires_at" not in s for s in manual)
    assert any(_time(s["created_at"]) > month_ago for s in manual)
    assert any("expires_at" in s for s in manual)
    assert any(not s["manual"] and s["diff_size"] < s["full_size"] for s in snapshots)
    schedules = [
        item
        for _, p in projects
        for schedule in p.get("backup_schedules", {}).values()
        for item in schedule["schedule"]
    ]
    assert any("retention_seconds" in item for item in schedules)
    assert any("retention_seconds" not in item for item in schedules)
    limits = {org["id"]: org.get("billing") for org in data["organizations"]}
    paid = [org for org in data["organizations"] if org["plan"] in ("launch", "scale")]
    assert any(limits[org["id"]] for org in paid)
    assert not all(limits[org["id"]] for org in paid)

    branches = [b for _, p in projects for b in p["branches"]]
    archived = [b for b in branches if b["current_state"] == "archived"]
    assert any(_time(b["state_changed_at"]) < now - timedelta(days=14) for b in archived)
    by_id = {b["id"]: b for b in branches}
    backups = [b for b in branches if BACKUP_NAME.match(b["name"])]
    assert backups
    for backup in backups:
        match = BACKUP_NAME.match(backup["name"])
        assert match is not None
        assert by_id[backup["parent_id"]]["name"] == match["name"]  # what a restore leaves
    backup_times = [_time(BACKUP_NAME.match(b["name"])["time"]) for b in backups]  # type: ignore[index]
    assert any(t < now - timedelta(days=7) for t in backup_times)

    endpoints = [e for _, p in projects for e in p["endpoints"]]
    replicas = [e for e in endpoints if e["type"] == "read_only"]
    assert any(e["suspend_timeout_seconds"] == -1 for e in replicas)
    assert any(
        "last_active" in e and _time(e["last_active"]) < now - timedelta(days=14) for e in replicas
    )
    scale_long = [
        (p, e)
        for plan, p in projects
        if plan == "scale"
        for e in p["endpoints"]
        if e["suspend_timeout_seconds"] > 300
    ]
    assert scale_long
    for project, endpoint in scale_long:
        starts = [
            op
            for op in project.get("operations", [])
            if op["action"] == "start_compute" and op["endpoint_id"] == endpoint["id"]
        ]
        assert starts, endpoint["id"]
    assert any(
        p["history_retention_seconds"] > 86400 and not any(b["protected"] for b in p["branches"])
        for _, p in projects
    )
    idle = [
        p
        for _, p in projects
        if _time(p["created_at"]) < now - timedelta(days=60)
        and (
            "compute_last_active_at" not in p
            or _time(p["compute_last_active_at"]) < now - timedelta(days=60)
        )
    ]
    assert idle
    expensive = [
        p
        for _, p in projects
        if (
            p["default_endpoint_settings"]["suspend_timeout_seconds"] == -1
            or p["default_endpoint_settings"]["autoscaling_limit_min_cu"] >= 1
        )
        and sum(_time(b["created_at"]) > month_ago for b in p["branches"]) >= 4
    ]
    assert expensive
    replication = [p for _, p in projects if p["settings"].get("enable_logical_replication")]
    assert len(replication) == 1
    (kept,) = replication[0]["compute_activity"]
    primary = next(e for e in replication[0]["endpoints"] if e["id"] == kept)
    assert primary["current_state"] == "active"
    assert primary["suspend_timeout_seconds"] != -1


def test_generated_lever_resources_load_and_round_trip_through_the_world_file() -> None:
    data = _world(4)
    world = World.from_dict(data)
    assert world.to_dict() == data
    assert any(state.snapshots for state in world.projects.values())
    assert any(state.operations for state in world.projects.values())
    assert world.org_billing


def test_the_lever_pass_keeps_a_seeds_counts_and_is_deterministic() -> None:
    """The pass adds kinds and changes fields; it never adds projects, branches or computes
    (their counts are the totals asked for), and draws from a stream of its own."""
    counts = World.generate(seed=3, orgs=3, projects=30, branches=250, now=WORLD_NOW).counts()
    assert counts["projects"] == 30
    assert counts["branches"] == 250
    first = _world(7)
    second = _world(7)
    assert first == second  # deterministic for a seed and a time
