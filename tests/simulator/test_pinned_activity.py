"""A world can pin a compute's hourly activity (``compute_activity``): the usage ledger
meters exactly those hours, so a test's answer key can be computed from the world alone
(kept-awake computes active in 160 of 168 hours, at the floor in a given number of them)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from governor.simulator import World
from governor.simulator.timestamps import format_timestamp
from governor.simulator.world import WorldError
from tests.conftest import WORLD_NOW
from tests.simulator.conftest import Api, timed_options
from tests.simulator.test_consumption import BRANCHES, branch_query, metric_series
from tests.simulator.worlds import TINY_PROJECT_ID, endpoint, tiny_world_data

HOUR = timedelta(hours=1)


def _pinned_world(activity: dict) -> dict:
    data = tiny_world_data()
    tiny = data["organizations"][0]["projects"][0]
    tiny["endpoints"].append(
        endpoint(
            "ep-pinned-1",
            TINY_PROJECT_ID,
            "br-dev-1",
            suspend_timeout_seconds=300,
            autoscaling_limit_min_cu=0.5,
            autoscaling_limit_max_cu=2,
        )
    )
    tiny["compute_activity"] = {"ep-pinned-1": activity}
    return data


def test_a_pinned_compute_bills_exactly_the_hours_the_world_gives(
    tiny_api: Callable[..., Api],
) -> None:
    asleep = format_timestamp(WORLD_NOW - 5 * HOUR)
    busy = format_timestamp(WORLD_NOW - 3 * HOUR)
    world = World.from_dict(_pinned_world({"cu": 0.5, "hours": {asleep: 0, busy: 1.5}}))
    api = tiny_api(timed_options(), world)
    response = api.get(BRANCHES, **branch_query(metrics="compute_unit_seconds"))
    assert response.status_code == 200, response.text
    branch = next(b for b in response.json()["branches"] if b["branch_id"] == "br-dev-1")
    series = dict(metric_series(branch["periods"], "compute_unit_seconds"))
    assert len(series) == 24
    expected = {
        format_timestamp(WORLD_NOW - hours * HOUR): 0.5 * 3600 for hours in range(1, 25)
    } | {asleep: 0.0, busy: 1.5 * 3600}
    assert series == expected


def test_the_pinned_activity_round_trips_through_the_world_file() -> None:
    data = _pinned_world({"cu": 0.25})
    assert World.from_dict(data).to_dict()["organizations"][0]["projects"][0][
        "compute_activity"
    ] == {"ep-pinned-1": {"cu": 0.25}}


@pytest.mark.parametrize(
    ("activity", "why"),
    [
        ({"cu": -1}, "non-negative"),
        ({"hours": {"yesterday": 1}}, "RFC 3339"),
        ("always", "expected an object"),
    ],
)
def test_a_bad_pinned_activity_is_refused_naming_where(activity: object, why: str) -> None:
    with pytest.raises(WorldError, match=why) as raised:
        World.from_dict(_pinned_world(activity))  # type: ignore[arg-type]
    assert "compute_activity['ep-pinned-1']" in str(raised.value)


def test_pinned_activity_for_an_unknown_compute_is_refused() -> None:
    data = _pinned_world({"cu": 1})
    data["organizations"][0]["projects"][0]["compute_activity"]["ep-nowhere"] = {"cu": 1}
    with pytest.raises(WorldError, match="no endpoint 'ep-nowhere'"):
        World.from_dict(data)
