"""A PATCH wakes an idle compute for the update, as Neon documents; the stats count it.
Suspending a compute that is already idle is accepted and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from governor.simulator.timestamps import format_timestamp
from tests.simulator.conftest import Api, timed_options
from tests.simulator.worlds import STAMP, TINY_PROJECT_ID

TINY = f"/projects/{TINY_PROJECT_ID}"


def main_endpoint(api: Api) -> dict[str, Any]:
    endpoint: dict[str, Any] = api.get(f"{TINY}/endpoints/ep-main-1").json()["endpoint"]
    return endpoint


def patch(api: Api, endpoint_id: str, fields: dict[str, Any]) -> Any:
    return api.call("PATCH", f"{TINY}/endpoints/{endpoint_id}", json={"endpoint": fields})


def test_a_patch_to_an_idle_compute_wakes_it_applies_the_config_and_suspends_it_again(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options())
    start = api.clock.now()
    answer = patch(api, "ep-main-1", {"suspend_timeout_seconds": 300})
    assert answer.status_code == 200
    assert [op["action"] for op in answer.json()["operations"]] == [
        "apply_config",
        "suspend_compute",
    ]
    assert main_endpoint(api)["current_state"] == "idle"  # apply_config is still scheduling

    api.clock.advance(0.5)  # apply_config runs: the compute is up
    woken = main_endpoint(api)
    assert woken["current_state"] == "active"
    assert woken["started_at"] == format_timestamp(start + timedelta(seconds=0.4))

    api.clock.advance(2.0)  # suspend_compute runs; the change lands when it finishes
    assert main_endpoint(api)["current_state"] == "active"
    api.clock.advance(1.5)
    done = main_endpoint(api)
    suspended_at = format_timestamp(start + timedelta(seconds=4))
    assert (done["current_state"], done["suspended_at"], done["last_active"]) == (
        "idle",
        suspended_at,
        suspended_at,
    )
    assert done["suspend_timeout_seconds"] == 300
    assert "pending_state" not in done


def test_wake_ups_are_counted_per_endpoint_in_the_stats(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(timed_options())
    for timeout in (300, 600):
        patch(api, "ep-main-1", {"suspend_timeout_seconds": timeout})
        api.clock.advance(4.0)
    patch(api, "ep-preview-1", {"suspend_timeout_seconds": 300})  # active: no wake-up
    api.clock.advance(2.0)
    stats = api.simulator.stats()
    assert stats["wake_ups"] == 2
    assert stats["wake_ups_by_endpoint"] == {"ep-main-1": 2}


def test_a_wake_up_is_counted_even_if_nobody_asks_again(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(timed_options())
    patch(api, "ep-main-1", {"suspend_timeout_seconds": 300})
    api.clock.advance(10.0)
    assert api.simulator.stats()["wake_ups"] == 1


def test_a_compute_woken_by_a_failing_patch_is_suspended_again(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options(operation_failure_fraction=1.0))
    patch(api, "ep-main-1", {"suspend_timeout_seconds": 300})
    api.clock.advance(1.0)
    assert main_endpoint(api)["current_state"] == "active"
    api.clock.advance(1.0)
    endpoint = main_endpoint(api)
    assert endpoint["current_state"] == "idle"
    assert endpoint["suspend_timeout_seconds"] == 0  # nothing applied


def test_suspending_an_idle_compute_is_accepted_and_changes_nothing(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(timed_options())
    before = main_endpoint(api)
    answer = api.call("POST", f"{TINY}/endpoints/ep-main-1/suspend")
    assert answer.status_code == 200
    (operation,) = answer.json()["operations"]
    assert operation["action"] == "suspend_compute"
    api.clock.advance(2.0)
    finished = api.get(f"{TINY}/operations/{operation['id']}").json()["operation"]
    assert finished["status"] == "finished"
    after = main_endpoint(api)
    assert after == before
    assert (after["current_state"], after["suspended_at"]) == ("idle", STAMP)
    assert api.simulator.stats()["wake_ups"] == 0
