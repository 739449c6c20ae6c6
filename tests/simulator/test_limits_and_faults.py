"""Rate limits as sliding windows per key, and seeded faults decided before any state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from governor.simulator import Simulator, SimulatorOptions, World
from tests.conftest import WORLD_NOW
from tests.simulator.conftest import Api, FakeClock
from tests.simulator.worlds import (
    ORG_TOKEN,
    PERSONAL_TOKEN,
    SECOND_PROJECT_ID,
    TINY_ORG_ID,
    TINY_PROJECT_ID,
    tiny_world_data,
)

TINY = f"/projects/{TINY_PROJECT_ID}"


def limits(per_minute: int | None, per_second: int | None, **extra: Any) -> SimulatorOptions:
    return SimulatorOptions(
        requests_per_minute=per_minute, requests_per_second_per_route=per_second, **extra
    )


def test_it_answers_429_past_the_per_minute_limit_until_the_window_slides(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(limits(3, None))
    assert [api.get(TINY).status_code for _ in range(3)] == [200, 200, 200]
    limited = api.get(TINY)
    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers
    assert limited.json()["code"] == ""
    api.clock.advance(30.0)
    assert api.get(TINY).status_code == 429  # the rejected request counted too
    api.clock.advance(30.0)  # the first four have left the window; one remains
    assert [api.get(TINY).status_code for _ in range(3)] == [200, 200, 429]


def test_limits_are_per_key(tiny_api: Callable[..., Api]) -> None:
    api = tiny_api(limits(2, None))
    assert [api.get(TINY).status_code for _ in range(3)] == [200, 200, 429]
    assert api.get(TINY, ORG_TOKEN).status_code == 200


def test_it_answers_429_past_the_per_route_burst_within_one_second(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(limits(None, 2))
    assert [api.get(TINY).status_code for _ in range(3)] == [200, 200, 429]
    assert api.get(f"{TINY}/endpoints").status_code == 200  # another route has its own window
    assert api.get(f"{TINY}/branches/br-main-1").status_code == 200
    assert api.get(f"{TINY}/branches/br-dev-1").status_code == 200  # same template
    assert api.get(f"{TINY}/branches/br-feature-1").status_code == 429
    api.clock.advance(0.5)
    assert api.get(TINY).status_code == 429
    api.clock.advance(0.6)  # the first two are older than one second now
    assert api.get(TINY).status_code == 200


def test_the_default_options_are_neons_published_limits() -> None:
    options = SimulatorOptions()
    assert (options.requests_per_minute, options.requests_per_second_per_route) == (700, 40)
    clock = FakeClock()
    simulator = Simulator(World.from_dict(tiny_world_data()), clock=clock, now=clock.now)
    headers = {"Authorization": f"Bearer {PERSONAL_TOKEN}"}
    answers = Counter(
        simulator.handle("GET", f"/api/v2{TINY}", {}, headers).status for _ in range(41)
    )
    assert answers == {200: 40, 429: 1}


def status_sequence(seed: int, count: int, **faults: float) -> list[int]:
    clock = FakeClock()
    simulator = Simulator(
        World.from_dict(tiny_world_data()),
        limits(None, None, seed=seed, **faults),
        clock=clock,
        now=clock.now,
    )
    headers = {"Authorization": f"Bearer {PERSONAL_TOKEN}"}
    return [simulator.handle("GET", TINY, {}, headers).status for _ in range(count)]


def test_faults_are_decided_by_the_seed() -> None:
    faults = {"fail_500": 0.1, "fail_503": 0.2, "fail_524": 0.1}
    first = status_sequence(4, 400, **faults)
    assert first == status_sequence(4, 400, **faults)
    assert first != status_sequence(5, 400, **faults)
    counts = Counter(first)
    assert set(counts) == {200, 500, 503, 524}
    assert 0.3 < counts[200] / 400 < 0.9


def test_faults_hit_over_loopback_and_the_in_process_transport_alike(
    tiny_api: Callable[..., Api],
) -> None:
    faults = {"fail_500": 0.2, "fail_503": 0.2, "seed": 9}
    api = tiny_api(limits(None, None, **faults))
    over_loopback = [api.get(TINY).status_code for _ in range(60)]
    assert over_loopback == status_sequence(9, 60, fail_500=0.2, fail_503=0.2)


def test_forced_423_hits_only_mutations_and_changes_nothing(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(limits(None, None, fail_423=1.0, seed=1))
    assert api.get(TINY).status_code == 200
    locked = api.call("DELETE", f"{TINY}/branches/br-preview-1")
    assert locked.status_code == 423
    assert "running operations" in locked.json()["message"]
    assert api.get(f"{TINY}/operations").json()["operations"] == []
    assert api.get(f"{TINY}/branches/br-preview-1").status_code == 200


def test_a_fault_is_decided_before_the_request_touches_state(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(limits(None, None, fail_503=1.0, seed=1))
    answer = api.call("DELETE", f"/organizations/{TINY_ORG_ID}/api_keys/2001")
    assert answer.status_code == 503
    assert [key["id"] for key in api.simulator.world.org_api_keys[TINY_ORG_ID]] == [2001, 2002]


def test_latency_is_drawn_per_request_within_the_range_by_seed() -> None:
    def delays(seed: int) -> list[float]:
        simulator = Simulator(
            World.from_dict(tiny_world_data()),
            limits(None, None, latency_seconds=(0.05, 0.2), seed=seed),
        )
        headers = {"Authorization": f"Bearer {PERSONAL_TOKEN}"}
        return [simulator.admit("GET", TINY, {}, headers).delay_seconds for _ in range(50)]

    first = delays(3)
    assert first == delays(3)
    assert all(0.05 <= delay <= 0.2 for delay in first)
    assert len(set(first)) == 50


@pytest.mark.anyio
async def test_the_in_process_transport_serves_the_same_answers() -> None:
    world = World.generate(seed=1, orgs=1, projects=3, branches=9, now=WORLD_NOW)
    simulator = Simulator(
        world,
        limits(None, None, latency_seconds=(0.001, 0.002), seed=1),
        now=lambda: WORLD_NOW,
    )
    token = f"sim-org-key-{world.organizations[0]['id']}"
    async with httpx.AsyncClient(
        base_url="http://sim.test/api/v2",
        transport=simulator.transport(),
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        listed = (await client.get("/projects", params={"limit": 400})).json()["projects"]
        project_id = listed[0]["id"]
        branches = (await client.get(f"/projects/{project_id}/branches")).json()["branches"]
    assert [project["id"] for project in listed] == list(world.projects)
    assert branches
    assert {branch["id"] for branch in branches} == set(world.projects[project_id].branches)
    assert simulator.request_log[-1].route == "GET /projects/{project_id}/branches"


def test_unreadable_projects_answer_503_on_their_own_routes_only(
    tiny_api: Callable[..., Api],
) -> None:
    api = tiny_api(limits(None, None, unreadable_project_ids=frozenset({TINY_PROJECT_ID})))
    for path in (TINY, f"{TINY}/branches", f"{TINY}/endpoints", f"{TINY}/branches/br-main-1"):
        answer = api.get(path)
        assert answer.status_code == 503
        assert "temporarily unavailable" in answer.json()["message"]
    listed = api.get("/projects", ORG_TOKEN).json()["projects"]
    assert TINY_PROJECT_ID in [project["id"] for project in listed]
    assert api.get(f"/projects/{SECOND_PROJECT_ID}").status_code == 200
