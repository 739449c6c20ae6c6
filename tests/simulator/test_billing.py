"""The simulator's reference bill: its own meters priced with Neon's published formulas
(decimal GB, 744-hour GB-month, branches netted per hour, transfer allowance org-wide)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from governor.simulator import World
from governor.simulator.timestamps import format_timestamp
from tests.conftest import WORLD_NOW
from tests.simulator.conftest import Api, timed_options
from tests.simulator.worlds import (
    OTHER_ORG_ID,
    SECOND_PROJECT_ID,
    TINY_ORG_ID,
    TINY_PROJECT_ID,
    branch,
    endpoint,
    tiny_world_data,
)

MIB = 1024 * 1024
SATURDAY = datetime(2026, 11, 28, tzinfo=WORLD_NOW.tzinfo)


def billing_world(plan: str = "scale", children: int = 0, **dev: Any) -> World:
    """Tiny world whose only compute is a 1 CU compute on ``br-dev-1`` that never suspends;
    ``children`` extra child branches in the second project; the other org on Free."""
    data = tiny_world_data()
    data["organizations"][0]["plan"] = plan
    data["organizations"][1]["plan"] = "free"
    tiny, second = data["organizations"][0]["projects"]
    tiny["endpoints"] = [
        endpoint(
            "ep-dev-1",
            TINY_PROJECT_ID,
            "br-dev-1",
            current_state="active",
            suspend_timeout_seconds=-1,
            autoscaling_limit_min_cu=dev.get("min_cu", 1),
            autoscaling_limit_max_cu=dev.get("max_cu", 1),
            last_active=format_timestamp(WORLD_NOW),
        )
    ]
    second["branches"] += [
        branch(f"br-child-{index}", SECOND_PROJECT_ID, f"preview/{index}", "br-second-main-1")
        for index in range(children)
    ]
    second["snapshots"] = [{"id": "snap-1", "full_size": 2 * 10**9, "manual": True}]
    return World.from_dict(data)


def line_quantity(bill: dict[str, Any], project_id: str, line: str) -> tuple[float, float]:
    project = next(p for p in bill["projects"] if p["project_id"] == project_id)
    return project["lines"][line], project["quantities"][line]


@pytest.fixture
def saturday_api(tiny_api: Callable[..., Api]) -> Callable[..., Api]:
    """A served simulator whose clock is moved to Saturday 06:00 UTC (no business hours)."""

    def start(world: World) -> Api:
        api = tiny_api(timed_options(), world)
        api.clock.advance((SATURDAY + timedelta(hours=6) - WORLD_NOW).total_seconds())
        return api

    return start


def test_reference_bill_prices_each_line_with_neons_published_formulas(
    saturday_api: Callable[..., Api],
) -> None:
    api = saturday_api(billing_world())
    bill = api.simulator.bill(TINY_ORG_ID, SATURDAY, SATURDAY + timedelta(hours=6))
    compute_usd, cu_hours = line_quantity(bill, TINY_PROJECT_ID, "compute")
    assert cu_hours == pytest.approx(6.0)  # 1 CU floor, 6 hours, no business traffic
    assert compute_usd == pytest.approx(6 * 0.222)
    root_usd, root_gb_months = line_quantity(bill, SECOND_PROJECT_ID, "root_storage")
    assert root_gb_months == pytest.approx(30 * MIB * 6 / 744 / 1e9)  # decimal GB, 744 h
    assert root_usd == pytest.approx(root_gb_months * 0.35)
    snapshot_usd, _ = line_quantity(bill, SECOND_PROJECT_ID, "snapshots")
    assert snapshot_usd == pytest.approx(2 * 6 / 744 * 0.09)
    restore_usd, restore_gb_months = line_quantity(bill, TINY_PROJECT_ID, "instant_restore")
    assert restore_usd == pytest.approx(restore_gb_months * 0.20)
    child_usd, child_gb_months = line_quantity(bill, TINY_PROJECT_ID, "child_storage")
    assert child_gb_months > 0
    assert child_usd == pytest.approx(child_gb_months * 0.35)
    assert bill["total_usd"] == pytest.approx(
        sum(project["total_usd"] for project in bill["projects"])
    )


def test_the_launch_plan_prices_compute_at_its_own_rate(
    saturday_api: Callable[..., Api],
) -> None:
    api = saturday_api(billing_world("launch"))
    bill = api.simulator.bill(TINY_ORG_ID, SATURDAY, SATURDAY + timedelta(hours=6))
    assert line_quantity(bill, TINY_PROJECT_ID, "compute")[0] == pytest.approx(6 * 0.106)


@pytest.mark.parametrize(("plan", "extra"), [("launch", 3), ("scale", 0)])
def test_extra_branches_are_netted_per_hour_against_the_plans_allowance(
    saturday_api: Callable[..., Api], plan: str, extra: int
) -> None:
    api = saturday_api(billing_world(plan, children=12))
    bill = api.simulator.bill(TINY_ORG_ID, SATURDAY, SATURDAY + timedelta(hours=6))
    usd, branch_months = line_quantity(bill, SECOND_PROJECT_ID, "extra_branches")
    assert branch_months == pytest.approx(extra * 6 / 744)  # 12 children, 9 or 24 included
    assert usd == pytest.approx(branch_months * 1.50)


def test_public_transfer_beyond_100_gb_is_billed_once_for_the_whole_organization(
    saturday_api: Callable[..., Api],
) -> None:
    api = saturday_api(billing_world(min_cu=8, max_cu=8))
    start = datetime(2026, 11, 1, tzinfo=WORLD_NOW.tzinfo)
    bill = api.simulator.bill(TINY_ORG_ID, start, SATURDAY)
    total_gb = sum(project["quantities"]["public_transfer"] for project in bill["projects"])
    assert total_gb > 100
    billed = sum(project["lines"]["public_transfer"] for project in bill["projects"])
    assert billed == pytest.approx((total_gb - 100) * 0.10)


def test_an_organization_on_free_is_never_billed(saturday_api: Callable[..., Api]) -> None:
    api = saturday_api(billing_world())
    bill = api.simulator.bill(OTHER_ORG_ID, SATURDAY, SATURDAY + timedelta(hours=6))
    assert bill["billed"] is False
    assert bill["total_usd"] == 0
    assert bill["projects"][0]["quantities"]["root_storage"] > 0


def test_the_bill_control_answers_the_in_process_bill(saturday_api: Callable[..., Api]) -> None:
    api = saturday_api(billing_world())
    params = {
        "org_id": TINY_ORG_ID,
        "from": format_timestamp(SATURDAY),
        "to": format_timestamp(SATURDAY + timedelta(hours=6)),
    }
    served = api.http.get("/_simulator/bill", params=params)
    assert served.status_code == 200, served.text
    assert served.json() == api.simulator.bill(TINY_ORG_ID, SATURDAY, SATURDAY + timedelta(hours=6))
    unknown = api.http.get("/_simulator/bill", params=params | {"org_id": "org-nope"})
    assert unknown.status_code == 404


def test_the_served_series_add_up_to_the_reference_bill(
    saturday_api: Callable[..., Api],
) -> None:
    api = saturday_api(billing_world(children=12))
    start = datetime(2026, 11, 1, tzinfo=WORLD_NOW.tzinfo)
    end = SATURDAY + timedelta(hours=6)
    query = {
        "org_id": TINY_ORG_ID,
        "granularity": "daily",
        "metrics": "compute_unit_seconds,child_branch_bytes_month,extra_branches_month",
        "from": format_timestamp(start),
        # Neon rounds "to" down: ask up to the end of the day still filling to get it.
        "to": format_timestamp(end.replace(hour=0) + timedelta(days=1)),
    }
    body = api.get("/consumption_history/v2/projects", **query).json()
    bill = api.simulator.bill(TINY_ORG_ID, start, end)
    for project in body["projects"]:
        totals: dict[str, float] = {}
        for period in project["periods"]:
            for bucket in period["consumption"]:
                for metric in bucket["metrics"]:
                    name = metric["metric_name"]
                    totals[name] = totals.get(name, 0) + metric["value"]
        quantities = next(
            p["quantities"] for p in bill["projects"] if p["project_id"] == project["project_id"]
        )
        cu_hours = totals.get("compute_unit_seconds", 0) / 3600
        assert cu_hours == pytest.approx(quantities["compute"], rel=1e-6)
        child_gb_months = totals.get("child_branch_bytes_month", 0) / 1e9  # byte-months
        assert child_gb_months == pytest.approx(quantities["child_storage"], rel=1e-6)
