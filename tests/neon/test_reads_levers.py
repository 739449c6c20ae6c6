"""The detail reads of issue 18 against the simulator: snapshots, backup schedules,
spending limits and start_compute counts, as Neon answers them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from governor.neon.errors import NeonProtocolError
from governor.simulator import World
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import PERSONAL_SIM_KEY, fast_client

Serve = Callable[..., ServedSimulator]
ORG_PAID, ORG_FREE, ORG_UNSET = "org-paid-1", "org-free-1", "org-unset-1"
PROJECT, BRANCH, CHILD, ENDPOINT = "proj-1", "br-main-1", "br-dev-1", "ep-main-1"


def _operation(number: int, days_ago: float, action: str = "start_compute") -> dict[str, Any]:
    at = (WORLD_NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "project_id": PROJECT,
        "branch_id": BRANCH,
        "endpoint_id": ENDPOINT,
        "action": action,
        "status": "finished",
        "failures_count": 0,
        "created_at": at,
        "updated_at": at,
    }


def world_data() -> dict[str, Any]:
    snapshot = {
        "id": "snap-old-1",
        "name": "before-migration",
        "created_at": "2026-08-01T00:00:00Z",
        "manual": True,
        "full_size": 2_000_000_000,
        "diff_size": 2_000_000_000,
        "source_branch_id": BRANCH,
        "lsn": "0/1A2B3C4",
        "timestamp": "2026-08-01T00:00:00Z",
    }
    endpoint = {
        "id": ENDPOINT,
        "project_id": PROJECT,
        "branch_id": BRANCH,
        "type": "read_write",
        "autoscaling_limit_min_cu": 0.25,
        "autoscaling_limit_max_cu": 1,
        "suspend_timeout_seconds": 3600,
        "current_state": "idle",
    }
    operations = [_operation(n, days) for n, days in enumerate((0.5, 3, 12, 29, 31, 40))]
    operations.append(_operation(99, 1, action="suspend_compute"))
    return {
        "keys": {PERSONAL_SIM_KEY: {"kind": "personal"}},
        "organizations": [
            {
                "id": ORG_PAID,
                "name": "Paid",
                "plan": "scale",
                "billing": {"spending_limit_cents": 150_000},
                "projects": [
                    {
                        "id": PROJECT,
                        "name": "shop",
                        "branches": [
                            {"id": BRANCH, "project_id": PROJECT, "name": "main"},
                            {
                                "id": CHILD,
                                "project_id": PROJECT,
                                "name": "dev",
                                "parent_id": BRANCH,
                            },
                        ],
                        "endpoints": [endpoint],
                        "snapshots": [snapshot],
                        "backup_schedules": {
                            BRANCH: {"schedule": [{"frequency": "daily", "hour": 3}]}
                        },
                        "operations": operations,
                    }
                ],
            },
            {"id": ORG_UNSET, "name": "Launch", "plan": "launch"},
            {"id": ORG_FREE, "name": "Free", "plan": "free"},
        ],
    }


@pytest.mark.anyio
async def test_project_snapshots_keep_the_api_object_and_name_their_project(
    served_simulator: Serve,
) -> None:
    _, base_url = served_simulator(World.from_dict(world_data()))
    async with fast_client(base_url, PERSONAL_SIM_KEY) as client:
        (snapshot,) = await client.list_project_snapshots(PROJECT)
    assert snapshot.project_id == PROJECT
    assert snapshot.manual is True
    assert snapshot.expires_at is None
    assert snapshot.full_size == 2_000_000_000
    assert "project_id" not in snapshot.raw  # the API object as Neon sent it
    assert snapshot.raw["lsn"] == "0/1A2B3C4"


@pytest.mark.anyio
async def test_a_backup_schedule_is_read_and_a_branch_without_one_has_an_empty_schedule(
    served_simulator: Serve,
) -> None:
    _, base_url = served_simulator(World.from_dict(world_data()))
    async with fast_client(base_url, PERSONAL_SIM_KEY) as client:
        kept = await client.get_backup_schedule(PROJECT, BRANCH)
        none = await client.get_backup_schedule(PROJECT, CHILD)
    assert kept == {"schedule": [{"frequency": "daily", "hour": 3}]}
    assert none == {"schedule": []}


@pytest.mark.anyio
async def test_a_spending_limit_is_set_unset_or_not_offered_on_the_plan(
    served_simulator: Serve,
) -> None:
    _, base_url = served_simulator(World.from_dict(world_data()))
    async with fast_client(base_url, PERSONAL_SIM_KEY) as client:
        paid = await client.get_spending_limit(ORG_PAID)
        unset = await client.get_spending_limit(ORG_UNSET)
        free = await client.get_spending_limit(ORG_FREE)
    assert (paid.offered, paid.cents) == (True, 150_000)
    assert (unset.offered, unset.cents) == (True, None)
    assert free.offered is False  # 422 on Free: not an error, not "none set"


@pytest.mark.anyio
async def test_a_spending_limit_that_is_not_a_number_is_a_protocol_error_not_none_set(
    served_simulator: Serve,
) -> None:
    simulator, base_url = served_simulator(World.from_dict(world_data()))
    simulator.world.org_billing[ORG_PAID] = {"spending_limit_cents": "lots"}
    async with fast_client(base_url, PERSONAL_SIM_KEY) as client:
        with pytest.raises(NeonProtocolError):
            await client.get_spending_limit(ORG_PAID)


@pytest.mark.anyio
async def test_activations_count_start_compute_operations_of_the_last_30_days_only(
    served_simulator: Serve,
) -> None:
    _, base_url = served_simulator(World.from_dict(world_data()))
    async with fast_client(base_url, PERSONAL_SIM_KEY) as client:
        counts = await client.count_activations(PROJECT, WORLD_NOW - timedelta(days=30))
    assert counts == {ENDPOINT: 4}  # 0.5, 3, 12 and 29 days ago; not 31, 40, nor the suspend


@pytest.mark.anyio
async def test_activation_counting_stops_paging_at_the_window(served_simulator: Serve) -> None:
    simulator, base_url = served_simulator(World.from_dict(world_data()))
    async with fast_client(base_url, PERSONAL_SIM_KEY) as client:
        since = WORLD_NOW - timedelta(days=5)
        # two a page, newest first: 0.5 d and the suspend (1 d), then 3 d and 12 d: past
        # the line, so the four older operations' pages are never asked for
        counts = await client.count_activations(PROJECT, since, page_size=2)
    assert counts == {ENDPOINT: 2}
    pages = [r for r in simulator.request_log if r.route == "GET /projects/{project_id}/operations"]
    assert len(pages) == 2
