"""The simulator's consumption endpoints: Neon's shape, parameters, errors, and a ledger
that follows the world (a remediated compute bills less from the change on)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from governor.simulator import SimulatorOptions, World
from governor.simulator.timestamps import format_timestamp, parse_timestamp
from tests.conftest import WORLD_NOW
from tests.simulator.conftest import NO_LIMITS, Api, timed_options
from tests.simulator.worlds import (
    ORG_TOKEN,
    OTHER_ORG_ID,
    OTHER_ORG_TOKEN,
    TINY_ORG_ID,
    TINY_PROJECT_ID,
    endpoint,
    tiny_world_data,
)

PROJECTS = "/consumption_history/v2/projects"
BRANCHES = "/consumption_history/v2/branches"
ALL_PROJECT_METRICS = (
    "compute_unit_seconds,root_branch_bytes_month,child_branch_bytes_month,"
    "instant_restore_bytes_month,snapshot_storage_bytes_month,public_network_transfer_bytes,"
    "private_network_transfer_bytes,extra_branches_month"
)
ALL_BRANCH_METRICS = (
    "compute_unit_seconds,root_branch_bytes_month,child_branch_bytes_month,"
    "instant_restore_bytes_month,public_network_transfer_bytes,private_network_transfer_bytes"
)


def consumption_world() -> World:
    """The tiny world plus a 1-4 CU compute on ``br-dev-1`` that never suspends; the second
    project is newer than the tiny one; the other organization is on Free."""
    data = tiny_world_data()
    data["organizations"][1]["plan"] = "free"
    data["organizations"][0]["projects"][1]["created_at"] = "2026-10-05T00:00:00Z"
    tiny = data["organizations"][0]["projects"][0]
    tiny["endpoints"].append(
        endpoint(
            "ep-dev-1",
            TINY_PROJECT_ID,
            "br-dev-1",
            current_state="active",
            suspend_timeout_seconds=-1,
            autoscaling_limit_min_cu=1,
            autoscaling_limit_max_cu=4,
            last_active=format_timestamp(WORLD_NOW),
            started_at="2026-11-01T00:00:00Z",
        )
    )
    return World.from_dict(data)


def window(hours: int = 24, *, end: datetime = WORLD_NOW) -> dict[str, str]:
    return {"from": format_timestamp(end - timedelta(hours=hours)), "to": format_timestamp(end)}


def project_query(**changes: Any) -> dict[str, Any]:
    query: dict[str, Any] = {
        "org_id": TINY_ORG_ID,
        "granularity": "hourly",
        "metrics": ALL_PROJECT_METRICS,
        **window(),
    }
    return {name: value for name, value in (query | changes).items() if value is not None}


def branch_query(**changes: Any) -> dict[str, Any]:
    return project_query(metrics=ALL_BRANCH_METRICS, project_ids=TINY_PROJECT_ID) | changes


def metric_series(periods: list[dict[str, Any]], name: str) -> list[tuple[str, float]]:
    return [
        (
            bucket["timeframe_start"],
            sum(m["value"] for m in bucket["metrics"] if m["metric_name"] == name),
        )
        for period in periods
        for bucket in period["consumption"]
    ]


@pytest.fixture
def api(tiny_api: Callable[..., Api]) -> Api:
    return tiny_api(timed_options(), consumption_world())


def test_project_consumption_answers_in_neons_shape_with_zero_metrics_omitted(api: Api) -> None:
    response = api.get(PROJECTS, **project_query())
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"projects", "pagination"}
    assert {project["project_id"] for project in body["projects"]} == {
        TINY_PROJECT_ID,
        "second-project-22222222",
    }
    tiny = next(p for p in body["projects"] if p["project_id"] == TINY_PROJECT_ID)
    (period,) = tiny["periods"]
    assert period["period_plan"] == "scale"
    assert period["period_start"] == "2026-11-01T00:00:00Z"
    assert "period_end" not in period  # the period is still open
    assert isinstance(period["period_id"], str)
    assert period["period_id"]
    starts = [parse_timestamp(bucket["timeframe_start"]) for bucket in period["consumption"]]
    assert starts == sorted(starts)
    assert len(starts) == 24
    for bucket in period["consumption"]:
        start, end = (parse_timestamp(bucket[k]) for k in ("timeframe_start", "timeframe_end"))
        assert end - start == timedelta(hours=1)
        names = [metric["metric_name"] for metric in bucket["metrics"]]
        assert all(metric["value"] != 0 for metric in bucket["metrics"])
        assert "snapshot_storage_bytes_month" not in names  # no snapshots: zero, omitted
        assert "compute_unit_seconds" in names  # the compute that never suspends
        # ep-dev-1 never suspends: at least its 1 CU floor every hour
        compute = next(
            m["value"] for m in bucket["metrics"] if m["metric_name"] == "compute_unit_seconds"
        )
        assert compute >= 3600


def test_responses_carry_exactly_the_documented_keys(api: Api) -> None:
    """Keys per Neon's v2 reference (getConsumptionHistoryPerProjectV2/PerBranchV2); the
    spec shipped in ../shared predates v2 consumption, so the shape is pinned here."""
    for path, query, field, item_keys in (
        (PROJECTS, project_query(), "projects", {"project_id", "periods"}),
        (BRANCHES, branch_query(), "branches", {"project_id", "branch_id", "periods"}),
    ):
        body = api.get(path, **query).json()
        assert set(body) == {field, "pagination"}
        assert isinstance(body["pagination"]["cursor"], str)
        for item in body[field]:
            assert set(item) == item_keys
            for period in item["periods"]:
                assert {"period_id", "period_plan", "period_start", "consumption"} <= set(period)
                assert set(period) <= {
                    "period_id", "period_plan", "period_start", "period_end", "consumption",
                }  # fmt: skip
                for bucket in period["consumption"]:
                    assert set(bucket) == {"timeframe_start", "timeframe_end", "metrics"}
                    for metric in bucket["metrics"]:
                        assert set(metric) == {"metric_name", "value"}
                        assert isinstance(metric["value"], int)


def test_project_pages_follow_the_cursor_newest_project_first(api: Api) -> None:
    seen = []
    cursor = None
    for _ in range(4):
        body = api.get(PROJECTS, **project_query(limit=1, cursor=cursor)).json()
        if not body["projects"]:
            assert body["pagination"]["cursor"] == cursor  # the cursor repeats at the end
            break
        seen += [project["project_id"] for project in body["projects"]]
        cursor = body["pagination"]["cursor"]
    assert seen == ["second-project-22222222", TINY_PROJECT_ID]  # created later: first


def test_branch_pages_follow_the_cursor_by_project_then_branch(api: Api) -> None:
    seen: list[tuple[str, str]] = []
    cursor = None
    for _ in range(10):
        body = api.get(BRANCHES, **branch_query(limit=2, cursor=cursor)).json()
        if not body["branches"]:
            break
        assert len(body["branches"]) <= 2
        seen += [(branch["project_id"], branch["branch_id"]) for branch in body["branches"]]
        cursor = body["pagination"]["cursor"]
    assert seen == sorted(seen)
    assert len(seen) == 6
    one = api.get(BRANCHES, **branch_query(branch_ids="br-dev-1")).json()["branches"]
    assert [branch["branch_id"] for branch in one] == ["br-dev-1"]


def test_metrics_may_be_repeated_or_comma_separated(api: Api) -> None:
    joined = api.get(PROJECTS, **project_query(metrics="compute_unit_seconds,extra_branches_month"))
    repeated = api.call(
        "GET",
        PROJECTS,
        params=[
            *project_query(metrics=None).items(),
            ("metrics", "compute_unit_seconds"),
            ("metrics", "extra_branches_month"),
        ],
    )
    assert joined.status_code == repeated.status_code == 200
    assert joined.json() == repeated.json()
    names = {
        metric["metric_name"]
        for project in joined.json()["projects"]
        for period in project["periods"]
        for bucket in period["consumption"]
        for metric in bucket["metrics"]
    }
    assert names <= {"compute_unit_seconds", "extra_branches_month"}


@pytest.mark.parametrize(
    ("path", "changes", "words"),
    [
        (PROJECTS, {"from": None}, "'from' is required"),
        (PROJECTS, {"to": "yesterday"}, "'to'"),
        (PROJECTS, {"granularity": None}, "'granularity' is required"),
        (PROJECTS, {"granularity": "weekly"}, "granularity must be one of"),
        (PROJECTS, {"org_id": None}, "'org_id' is required"),
        (PROJECTS, {"metrics": None}, "'metrics' is required"),
        (PROJECTS, {"metrics": "cpu_seconds"}, "unknown metric(s) cpu_seconds"),
        (PROJECTS, {"limit": "0"}, "limit must be from 1 to 100"),
        (PROJECTS, {"limit": "101"}, "limit must be from 1 to 100"),
        (PROJECTS, {"project_ids": ",".join(f"p{i}" for i in range(101))}, "at most 100"),
        (PROJECTS, {"cursor": "nope"}, "cursor 'nope'"),
        (BRANCHES, {"project_ids": None}, "'project_ids' is required"),
        (BRANCHES, {"limit": "1001"}, "limit must be from 1 to 1000"),
        (BRANCHES, {"metrics": "extra_branches_month"}, "unknown metric(s)"),
        (BRANCHES, {"branch_ids": ",".join(f"b{i}" for i in range(101))}, "at most 100"),
    ],
)
def test_missing_or_invalid_parameters_answer_400_saying_which(
    api: Api, path: str, changes: dict[str, Any], words: str
) -> None:
    query = (project_query if path == PROJECTS else branch_query)(**changes)
    response = api.get(path, **query)
    assert response.status_code == 400
    assert words in response.json()["message"]


def test_an_organization_on_free_answers_403(api: Api) -> None:
    response = api.get(PROJECTS, **project_query(org_id=OTHER_ORG_ID))
    assert response.status_code == 403
    assert "'free' plan" in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "org", "words"),
    [
        (PROJECTS, {"managed_by": "vercel"}, "legacy plan managed by 'vercel'"),
        (BRANCHES, {"plan": "business"}, "'business' plan"),
        (PROJECTS, {"plan": "free_v3"}, "'free' plan"),
    ],
)
def test_a_plan_without_v2_consumption_history_answers_403(
    tiny_api: Callable[..., Api], path: str, org: dict[str, str], words: str
) -> None:
    world = consumption_world()
    world.organizations_by_id[TINY_ORG_ID].update(org)
    api = tiny_api(NO_LIMITS, world)
    query = (project_query if path == PROJECTS else branch_query)()
    response = api.get(path, **query)
    assert response.status_code == 403
    assert words in response.json()["message"]


def test_a_launch_v3_organization_is_served_as_launch(tiny_api: Callable[..., Api]) -> None:
    world = consumption_world()
    world.organizations_by_id[TINY_ORG_ID]["plan"] = "launch_v3"
    body = tiny_api(NO_LIMITS, world).get(PROJECTS, **project_query()).json()
    assert {p["periods"][0]["period_plan"] for p in body["projects"]} == {"launch"}


@pytest.mark.parametrize(
    ("token", "org_id"),
    [(OTHER_ORG_TOKEN, TINY_ORG_ID), (ORG_TOKEN, OTHER_ORG_ID), (ORG_TOKEN, "org-missing-1")],
)
def test_an_organization_the_key_is_not_a_member_of_answers_404(
    api: Api, token: str, org_id: str
) -> None:
    response = api.get(PROJECTS, token, **project_query(org_id=org_id))
    assert response.status_code == 404
    assert f"not a member of organization {org_id!r}" in response.json()["message"]


@pytest.mark.parametrize(
    ("granularity", "back", "allowed"),
    [
        ("hourly", timedelta(hours=168), True),
        ("hourly", timedelta(hours=169), False),
        ("daily", timedelta(days=60), True),
        ("daily", timedelta(days=61), False),
        ("monthly", timedelta(days=300), True),
        ("monthly", timedelta(days=400), False),
    ],
)
def test_a_range_beyond_the_lookback_of_its_granularity_answers_406(
    api: Api, granularity: str, back: timedelta, allowed: bool
) -> None:
    query = project_query(
        granularity=granularity,
        metrics="compute_unit_seconds",
        **{"from": format_timestamp(WORLD_NOW.replace(minute=0) - back)},
    )
    response = api.get(PROJECTS, **query)
    assert response.status_code == (200 if allowed else 406), response.text
    if not allowed:
        assert "lookback" in response.json()["message"]


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("2024-02-01T00:00:00Z", "2024-03-02T00:00:00Z", "2024-03-01"),
        ("2026-11-27T10:00:00Z", "2026-11-27T09:00:00Z", "before 'to'"),
    ],
)
def test_an_empty_or_too_early_range_answers_406(
    api: Api, start: str, end: str, words: str
) -> None:
    response = api.get(
        PROJECTS, **project_query(granularity="monthly", **{"from": start, "to": end})
    )
    assert response.status_code == 406
    assert words in response.json()["message"]


def test_from_and_to_are_rounded_to_the_granularity(api: Api) -> None:
    query = project_query(
        granularity="daily",
        project_ids=TINY_PROJECT_ID,
        **{"from": "2026-11-20T13:30:00Z", "to": "2026-11-22T01:00:00Z"},
    )
    (project,) = api.get(PROJECTS, **query).json()["projects"]
    buckets = project["periods"][0]["consumption"]
    # Both ends down, as Neon's reference says: the day that holds "to" is not served.
    assert [bucket["timeframe_start"] for bucket in buckets] == [
        "2026-11-20T00:00:00Z",
        "2026-11-21T00:00:00Z",
    ]


def test_consumption_routes_beyond_their_own_limit_answer_429_with_retry_after(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(
        SimulatorOptions(
            requests_per_minute=None,
            requests_per_second_per_route=None,
            consumption_requests_per_minute=2,
        ),
        consumption_world(),
    )
    query = project_query(metrics="compute_unit_seconds")
    assert api.get(PROJECTS, **query).status_code == 200
    api.clock.advance(10)
    assert api.get(BRANCHES, **branch_query()).status_code == 200
    api.clock.advance(10)
    refused = api.get(PROJECTS, **query)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "40"
    assert (
        api.get(f"/projects/{TINY_PROJECT_ID}").status_code == 200
    )  # other routes are not limited by it
    api.clock.advance(41)
    assert api.get(PROJECTS, **query).status_code == 200


def test_consumption_requests_are_logged_like_other_routes(api: Api) -> None:
    api.get(PROJECTS, **project_query(metrics="compute_unit_seconds"))
    api.get(BRANCHES, **branch_query(org_id=OTHER_ORG_ID))
    routes = [(r["route"], r["status"]) for r in api.simulator.logged_requests()]
    assert routes == [
        ("GET /consumption_history/v2/projects", 200),
        ("GET /consumption_history/v2/branches", 403),
    ]


@pytest.mark.parametrize(
    ("unit", "ratio"), [("byte_months", 24 / 744), ("byte_hours", 24.0), ("inconsistent", 24 / 31)]
)
def test_storage_is_served_in_the_unit_the_option_names(
    tiny_api: Callable[..., Api], unit: str, ratio: float
) -> None:
    api = tiny_api(SimulatorOptions(storage_unit=unit, **_no_limits()), consumption_world())
    query = project_query(
        granularity="daily",
        metrics="root_branch_bytes_month",
        project_ids="second-project-22222222",
        **window(48, end=WORLD_NOW.replace(hour=0)),
    )
    (project,) = api.get(PROJECTS, **query).json()["projects"]
    value = project["periods"][0]["consumption"][-1]["metrics"][0]["value"]
    logical_size = 30 * 1024 * 1024
    assert value / logical_size == pytest.approx(ratio, rel=1e-6)


def _no_limits() -> dict[str, Any]:
    return {
        "requests_per_minute": NO_LIMITS.requests_per_minute,
        "requests_per_second_per_route": NO_LIMITS.requests_per_second_per_route,
    }


def _dev_compute(api: Api, start: datetime, hours: int) -> list[float]:
    query = branch_query(
        branch_ids="br-dev-1", metrics="compute_unit_seconds", **window(hours, end=start)
    )
    (branch,) = api.get(BRANCHES, **query).json()["branches"]
    return [value for _, value in metric_series(branch["periods"], "compute_unit_seconds")]


def _business_hour(stamp: datetime) -> bool:
    return stamp.weekday() < 5 and 8 <= stamp.hour < 18


def test_a_compute_whose_suspend_timeout_is_set_to_300_bills_less_in_the_following_hours(
    api: Api,
) -> None:
    before = _dev_compute(api, WORLD_NOW, 24)
    assert all(value >= 3600 for value in before)  # never suspends: 1 CU floor every hour
    patched = api.call(
        "PATCH",
        f"/projects/{TINY_PROJECT_ID}/endpoints/ep-dev-1",
        json={"endpoint": {"suspend_timeout_seconds": 300}},
    )
    assert patched.status_code == 200, patched.text
    api.clock.advance(5)
    assert api.get(f"/projects/{TINY_PROJECT_ID}/operations").status_code == 200
    api.clock.advance(48 * 3600 - 5)
    after_end = WORLD_NOW + timedelta(hours=48)
    after = _dev_compute(api, after_end, 47)
    hours = [after_end - timedelta(hours=47 - index) for index in range(47)]
    idle = [value for hour, value in zip(hours, after, strict=True) if not _business_hour(hour)]
    assert idle
    assert all(value == 0 for value in idle)  # its idle hours no longer bill
    assert sum(after) < sum(before)


def test_a_lower_floor_bills_less_from_the_change_on(api: Api) -> None:
    before = _dev_compute(api, WORLD_NOW, 24)
    patched = api.call(
        "PATCH",
        f"/projects/{TINY_PROJECT_ID}/endpoints/ep-dev-1",
        json={"endpoint": {"autoscaling_limit_min_cu": 0.5}},
    )
    assert patched.status_code == 200, patched.text
    api.clock.advance(5)
    api.get(f"/projects/{TINY_PROJECT_ID}/operations")
    api.clock.advance(24 * 3600 - 5)
    after = _dev_compute(api, WORLD_NOW + timedelta(hours=24), 23)
    assert min(before) == 3600
    assert min(after) == 1800


def test_a_deleted_branch_stops_billing(api: Api) -> None:
    deleted = api.call("DELETE", f"/projects/{TINY_PROJECT_ID}/branches/br-preview-1")
    assert deleted.status_code == 200, deleted.text
    api.clock.advance(5)
    api.get(f"/projects/{TINY_PROJECT_ID}/operations")
    api.clock.advance(24 * 3600 - 5)
    later = WORLD_NOW + timedelta(hours=24)
    metered = api.simulator.metered(WORLD_NOW + timedelta(hours=1), later, branch_id="br-preview-1")
    assert set(metered.values()) == {0.0}
    earlier = api.simulator.metered(
        WORLD_NOW - timedelta(hours=24), WORLD_NOW, branch_id="br-preview-1"
    )
    assert earlier["child_branch_bytes_month"] > 0
    listed = api.get(BRANCHES, **branch_query(**window(24, end=later))).json()["branches"]
    assert "br-preview-1" not in {branch["branch_id"] for branch in listed}
    # the project keeps what it billed before the delete
    project = api.simulator.metered(
        WORLD_NOW - timedelta(hours=24), WORLD_NOW, project_id=TINY_PROJECT_ID
    )
    assert project["child_branch_bytes_month"] >= earlier["child_branch_bytes_month"]


def test_a_deleted_project_keeps_its_history(api: Api) -> None:
    simulator = api.simulator
    del simulator.world.projects["second-project-22222222"]
    simulator.world.org_project_ids[TINY_ORG_ID].remove("second-project-22222222")
    simulator.usage.advance(simulator.world, WORLD_NOW)
    api.clock.advance(3600)
    body = api.get(PROJECTS, **project_query(metrics="root_branch_bytes_month")).json()
    ids = {project["project_id"] for project in body["projects"]}
    assert "second-project-22222222" in ids


def test_workload_drift_control_scales_a_projects_compute_from_now_on(api: Api) -> None:
    changed = api.http.post(
        "/_simulator/usage",
        json={"project_id": TINY_PROJECT_ID, "factor": 2, "except_branch_id": "br-main-1"},
    )
    assert changed.status_code == 200, changed.text
    assert "br-dev-1" in changed.json()["branch_ids"]
    assert "br-main-1" not in changed.json()["branch_ids"]
    api.clock.advance(24 * 3600)
    read = api.http.get(
        "/_simulator/usage",
        params={
            "branch_id": "br-dev-1",
            "from": format_timestamp(WORLD_NOW - timedelta(hours=1)),
            "to": format_timestamp(WORLD_NOW),
        },
    )
    after = api.simulator.metered(
        WORLD_NOW + timedelta(hours=23), WORLD_NOW + timedelta(hours=24), branch_id="br-dev-1"
    )
    # Saturday 11:00 UTC: the floor only, doubled
    assert after["compute_unit_seconds"] == pytest.approx(2 * 3600)
    assert read.json()["values"]["compute_unit_seconds"] >= 3600
    refused = api.http.post("/_simulator/usage", json={"project_id": "nope", "factor": 2})
    assert refused.status_code == 404
