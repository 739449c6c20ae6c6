"""The simulator refuses what Neon refuses: every documented compute rule, with a 400."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from governor.simulator import World
from tests.simulator.conftest import Api, timed_options
from tests.simulator.worlds import TINY_PROJECT_ID, tiny_world_data

TINY = f"/projects/{TINY_PROJECT_ID}"


def world(plan: str = "scale", low: float = 16, high: float = 16) -> World:
    data = tiny_world_data()
    org = data["organizations"][0]
    org["plan"] = plan
    endpoint = org["projects"][0]["endpoints"][0]
    assert endpoint["id"] == "ep-main-1"
    endpoint.update(autoscaling_limit_min_cu=low, autoscaling_limit_max_cu=high)
    return World.from_dict(data)


def patch(api: Api, fields: dict[str, Any]) -> Any:
    return api.call("PATCH", f"{TINY}/endpoints/ep-main-1", json={"endpoint": fields})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        # the oversized-computes request of issue 16: 16-16 CU to 0.25-16 CU
        ({"autoscaling_limit_min_cu": 0.25}, "range spans at most 8 CU"),
        ({"autoscaling_limit_min_cu": 7}, "range spans at most 8 CU"),
        ({"autoscaling_limit_min_cu": 0.3}, "not a size Neon offers"),
        ({"autoscaling_limit_min_cu": 17, "autoscaling_limit_max_cu": 17}, "not a size"),
        ({"autoscaling_limit_min_cu": 12, "autoscaling_limit_max_cu": 18}, "up to 16 CU only"),
        ({"autoscaling_limit_min_cu": 1, "autoscaling_limit_max_cu": 11}, "at least max/8"),
        ({"autoscaling_limit_min_cu": 58, "autoscaling_limit_max_cu": 58}, "not a size"),
    ],
)
def test_the_simulator_refuses_each_compute_size_neon_refuses_with_400(
    tiny_api: Callable[..., Api], fields: dict[str, Any], reason: str
) -> None:
    api = tiny_api(timed_options(), world=world())
    refused = patch(api, fields)
    assert refused.status_code == 400
    assert reason in refused.json()["message"]
    assert api.get(f"{TINY}/operations").json()["operations"] == []


@pytest.mark.parametrize(
    ("plan", "size", "seconds", "reason"),
    [
        ("free", (0.25, 1), -1, "Free plan fixes scale to zero at 5 minutes"),
        ("free", (0.25, 1), 600, "Free plan"),
        ("launch", (0.25, 1), 3600, "Launch plan allows scale to zero after 5 minutes or never"),
        ("launch", (0.25, 1), 60, "Launch plan"),
        ("scale", (0.25, 1), 59, "60 to 604800 seconds"),
        ("scale", (0.25, 1), 604801, "60 to 604800 seconds"),
        ("scale", (20, 20), 300, "above 16 CU never scale to zero"),
        ("business", (28, 28), 0, "above 16 CU never scale to zero"),
    ],
)
def test_the_simulator_refuses_each_suspend_timeout_the_plan_or_size_forbids_with_400(
    tiny_api: Callable[..., Api], plan: str, size: tuple[float, float], seconds: int, reason: str
) -> None:
    api = tiny_api(timed_options(), world=world(plan, *size))
    refused = patch(api, {"suspend_timeout_seconds": seconds})
    assert refused.status_code == 400
    assert reason in refused.json()["message"]


@pytest.mark.parametrize(
    ("plan", "low", "high", "fields"),
    [
        ("scale", 16, 16, {"autoscaling_limit_min_cu": 8}),
        ("scale", 16, 16, {"autoscaling_limit_min_cu": 0.25, "autoscaling_limit_max_cu": 8}),
        ("scale", 16, 16, {"autoscaling_limit_min_cu": 2, "autoscaling_limit_max_cu": 10}),
        ("scale", 8, 8, {"autoscaling_limit_min_cu": 0.25}),  # 0.25-8 spans 7.75 CU
        ("scale", 0.25, 1, {"suspend_timeout_seconds": 60}),
        ("scale", 0.25, 1, {"suspend_timeout_seconds": 604800}),
        ("launch", 0.25, 1, {"suspend_timeout_seconds": -1}),
        ("launch", 0.25, 1, {"suspend_timeout_seconds": 300}),
        ("free", 0.25, 1, {"suspend_timeout_seconds": 0}),
        ("scale", 20, 20, {"suspend_timeout_seconds": -1}),
    ],
)
def test_the_simulator_accepts_what_neon_documents_as_valid(
    tiny_api: Callable[..., Api], plan: str, low: float, high: float, fields: dict[str, Any]
) -> None:
    api = tiny_api(timed_options(), world=world(plan, low, high))
    assert patch(api, fields).status_code == 200
