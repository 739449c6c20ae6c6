"""Compute sizes as Neon's plans allow them: autoscaling up to 16 CU, fixed sizes up to 56."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from governor.simulator import World
from tests.simulator.conftest import Api, timed_options
from tests.simulator.worlds import TINY_PROJECT_ID, tiny_world_data

TINY = f"/projects/{TINY_PROJECT_ID}"


def patch_endpoint(api: Api, fields: dict[str, Any], endpoint_id: str = "ep-preview-1") -> Any:
    return api.call("PATCH", f"{TINY}/endpoints/{endpoint_id}", json={"endpoint": fields})


def world_with_main_compute(low: float, high: float) -> World:
    data = tiny_world_data()
    endpoint = data["organizations"][0]["projects"][0]["endpoints"][0]
    assert endpoint["id"] == "ep-main-1"
    endpoint.update(autoscaling_limit_min_cu=low, autoscaling_limit_max_cu=high)
    return World.from_dict(data)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"autoscaling_limit_min_cu": 9, "autoscaling_limit_max_cu": 17}, "not a size Neon"),
        ({"autoscaling_limit_max_cu": 32}, "up to 16 CU only"),  # the current min is 0.25
        ({"autoscaling_limit_min_cu": 12, "autoscaling_limit_max_cu": 20}, "fixed size"),
        ({"autoscaling_limit_min_cu": 58, "autoscaling_limit_max_cu": 58}, "not a size Neon"),
    ],
)
def test_autoscaling_above_16_cu_and_fixed_sizes_above_56_cu_are_refused(
    tiny_api: Callable[..., Api], fields: dict[str, Any], reason: str
) -> None:
    api = tiny_api(timed_options())
    refused = patch_endpoint(api, fields)
    assert refused.status_code == 400
    assert reason in refused.json()["message"]
    assert api.get(f"{TINY}/operations").json()["operations"] == []


@pytest.mark.parametrize(
    "fields",
    [
        {"autoscaling_limit_min_cu": 8, "autoscaling_limit_max_cu": 16},
        {"autoscaling_limit_min_cu": 20, "autoscaling_limit_max_cu": 20},
        {"autoscaling_limit_min_cu": 56, "autoscaling_limit_max_cu": 56},
    ],
)
def test_ranges_up_to_16_cu_and_fixed_sizes_up_to_56_cu_are_accepted(
    tiny_api: Callable[..., Api], fields: dict[str, Any]
) -> None:
    api = tiny_api(timed_options())
    assert patch_endpoint(api, fields).status_code == 200
    api.clock.advance(2.0)
    endpoint = api.get(f"{TINY}/endpoints/ep-preview-1").json()["endpoint"]
    assert {name: endpoint[name] for name in fields} == fields


def test_lowering_the_minimum_of_a_large_fixed_compute_is_refused(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options(), world=world_with_main_compute(32, 32))
    refused = patch_endpoint(api, {"autoscaling_limit_min_cu": 0.25}, "ep-main-1")
    assert refused.status_code == 400
    assert "up to 16 CU only" in refused.json()["message"]
    both = {"autoscaling_limit_min_cu": 8, "autoscaling_limit_max_cu": 16}
    assert patch_endpoint(api, both, "ep-main-1").status_code == 200


def test_a_patch_that_sets_no_limit_is_not_refused_for_a_legacy_range(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options(), world=world_with_main_compute(0.25, 16))
    answer = patch_endpoint(api, {"suspend_timeout_seconds": 300}, "ep-main-1")
    assert answer.status_code == 200
