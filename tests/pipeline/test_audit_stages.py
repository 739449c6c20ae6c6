"""The run as stages: every run row ends finished or failed, one clock, reusable snapshots,
several accounts in one run. Against the simulator over loopback and a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from governor.neon.client import NeonClient
from governor.neon.errors import NeonAuthError
from governor.pipeline.audit import run_audit
from governor.pipeline.detail import DetailNeed
from governor.pipeline.stages import evaluate_stage, is_fresh, sweep_stage
from governor.policy import load_policies, shipped_policies_path
from governor.savings.prices import Prices
from governor.simulator import World
from governor.store import Store, history
from governor.store import resources as resource_rows
from governor.sweep import Account
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.simulator.worlds import (
    ORG_TOKEN,
    OTHER_ORG_ID,
    OTHER_ORG_TOKEN,
    TINY_ORG_ID,
    tiny_world_data,
)

Serve = Callable[..., ServedSimulator]
SHIPPED = load_policies([shipped_policies_path()])


def client(base_url: str, key: str) -> NeonClient:
    return NeonClient(
        key,
        base_url=base_url,
        requests_per_minute=60_000,
        requests_per_second_per_route=1_000,
        max_attempts=2,
        backoff_base_seconds=0.001,
        backoff_cap_seconds=0.01,
    )


@asynccontextmanager
async def opened(path: Path) -> AsyncIterator[Store]:
    async with await Store.open_async(path) as store:
        yield store


@pytest.mark.anyio
async def test_a_run_whose_sweep_raises_is_recorded_as_failed_with_the_reason(
    served_simulator: Serve, tmp_path: Path
) -> None:
    _, base_url = served_simulator(World.from_dict(tiny_world_data()))
    db = tmp_path / "governor.db"
    async with client(base_url, "not-a-key-the-simulator-knows") as refused, opened(db) as store:
        with pytest.raises(NeonAuthError):
            await run_audit(
                accounts=[Account("default", refused)],
                store=store,
                policies=SHIPPED,
                prices=Prices(),
                clock=lambda: WORLD_NOW,
            )
    with Store.open(db) as reader:
        (run,) = reader.call(history.latest_runs)
    assert run.status == "failed"
    assert run.finished_at is not None
    assert "NeonAuthError" in run.failure_reason
    assert "401" in run.failure_reason


@pytest.mark.anyio
async def test_one_clock_reaches_the_sweep_and_every_stage(
    served_simulator: Serve, tmp_path: Path
) -> None:
    _, base_url = served_simulator(World.from_dict(tiny_world_data()))
    async with client(base_url, ORG_TOKEN) as org_client:
        snapshot = await sweep_stage([Account("a", org_client)], clock=lambda: WORLD_NOW)
    assert snapshot.taken_at == WORLD_NOW
    stale = [policy for policy in SHIPPED if policy.name == "stale-branches"]
    found = {f.resource_id for f in evaluate_stage(stale, snapshot, now=WORLD_NOW).findings}
    earlier = WORLD_NOW - timedelta(days=365)
    before = {f.resource_id for f in evaluate_stage(stale, snapshot, now=earlier).findings}
    assert "br-feature-1" in found  # stale by the clock given, not by the wall clock
    assert "br-feature-1" not in before


@pytest.mark.anyio
async def test_a_recent_snapshot_is_judged_again_without_a_request(
    served_simulator: Serve, tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(World.from_dict(tiny_world_data()))
    async with client(base_url, ORG_TOKEN) as org_client, opened(tmp_path / "g.db") as store:
        accounts = [Account("a", org_client)]
        first = await run_audit(
            accounts=accounts,
            store=store,
            policies=SHIPPED,
            prices=Prices(),
            clock=lambda: WORLD_NOW,
        )
        # swept for the same policies: their detail (snapshots, schedules...) is in it
        snapshot = await sweep_stage(
            accounts, clock=lambda: WORLD_NOW, detail=DetailNeed.of(SHIPPED)
        )
        sent = len(simulator.request_log)
        assert is_fresh(
            snapshot, now=WORLD_NOW + timedelta(minutes=5), max_age=timedelta(minutes=10)
        )
        assert not is_fresh(
            snapshot, now=WORLD_NOW + timedelta(minutes=11), max_age=timedelta(minutes=10)
        )
        again = await run_audit(
            accounts=accounts,
            store=store,
            policies=SHIPPED,
            prices=Prices(),
            clock=lambda: WORLD_NOW + timedelta(minutes=5),
            snapshot=snapshot,
        )
    assert len(simulator.request_log) == sent
    assert again.reused_snapshot
    assert again.requests == 0
    assert [item.key for item in again.findings] == [item.key for item in first.findings]
    assert again.run_id == first.run_id + 1


@pytest.mark.anyio
async def test_two_accounts_are_swept_with_their_own_keys_into_one_run(
    served_simulator: Serve, tmp_path: Path
) -> None:
    _, base_url = served_simulator(World.from_dict(tiny_world_data()))
    async with (
        client(base_url, ORG_TOKEN) as first,
        client(base_url, OTHER_ORG_TOKEN) as second,
        opened(tmp_path / "g.db") as store,
    ):
        result = await run_audit(
            accounts=[Account("first", first), Account("second", second)],
            store=store,
            policies=SHIPPED,
            prices=Prices(),
            clock=lambda: WORLD_NOW,
        )
    assert result.complete
    with Store.open(tmp_path / "g.db") as reader:
        project_orgs = {
            resource.org_id for resource in reader.call(resource_rows.listed, "project")
        }
    assert project_orgs == {TINY_ORG_ID, OTHER_ORG_ID}
    assert first.requests > 0
    assert second.requests > 0
    assert result.requests == first.requests + second.requests
    assert result.snapshot_counts["organizations"] == 2


@pytest.mark.anyio
async def test_the_automatic_collector_is_off_during_runs_and_back_after_the_last_one() -> None:
    import gc

    from governor.pipeline.gc_pacing import young_collections_only

    assert gc.isenabled()
    first = young_collections_only(interval=0.01)
    second = young_collections_only(interval=0.01)
    await first.__aenter__()
    await second.__aenter__()
    assert not gc.isenabled()
    await first.__aexit__(None, None, None)  # the first run ends before the second
    assert not gc.isenabled()
    await second.__aexit__(None, None, None)
    assert gc.isenabled()


def test_merged_snapshots_keep_each_object_once_and_the_largest_clock_skew() -> None:
    from governor.model.snapshot import Snapshot
    from governor.neon.models import Branch, Organization

    org = Organization.from_api({"id": "org-a-1", "name": "A"})
    branch = Branch.from_api({"id": "br-1", "project_id": "p-1", "name": "main"})
    first = Snapshot(taken_at=WORLD_NOW, organizations=[org], branches=[branch])
    first.clock_skew_seconds = 12.0
    second = Snapshot(taken_at=WORLD_NOW, organizations=[org], branches=[branch])
    second.clock_skew_seconds = -400.0
    merged = Snapshot.merged([first, second], taken_at=WORLD_NOW)
    assert [item.id for item in merged.organizations] == ["org-a-1"]
    assert [item.id for item in merged.branches] == ["br-1"]
    assert merged.clock_skew_seconds == -400.0
