"""The streamed audit (``run_audit(keep_snapshot=False)``) against the in-memory one: the
same world through both gives the same findings, estimates, owners, stored rows and
resolutions. Against the simulator over loopback and real SQLite files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from governor.config.consumption import ConsumptionSettings
from governor.pipeline import spooled_findings, stream
from governor.pipeline.audit import run_audit
from governor.pipeline.results import AuditResult
from governor.pipeline.spooled_findings import SpooledFindings
from governor.policy import load_policies, shipped_policies_path
from governor.savings.prices import Prices
from governor.simulator import World
from governor.store import Store, history
from governor.store import resources as resource_rows
from governor.sweep import Account
from governor.sweep.spool import ProjectSpool
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.neon.helpers import FaultyTransport, fast_client, touches_project

Serve = Callable[..., ServedSimulator]
SHIPPED = load_policies([shipped_policies_path()])
PERSONAL_KEY = "sim-personal-key"


def world_with_an_awake_stale_branch() -> tuple[World, str]:
    """A generated world where one child branch's compute never suspends (timeout -1,
    running for 60 days): stale by its activity, and the compute costs all month."""
    world = World.generate(seed=3, orgs=2, projects=30, branches=240, now=WORLD_NOW)
    old = (WORLD_NOW - timedelta(days=60)).isoformat().replace("+00:00", "Z")
    for state in world.projects.values():
        parents = {branch.get("parent_id") for branch in state.branches.values()}
        for branch_id, branch in state.branches.items():
            computes = [e for e in state.endpoints.values() if e["branch_id"] == branch_id]
            if (
                not branch.get("parent_id")
                or branch_id in parents
                or branch.get("default")
                or branch.get("protected")
                or not computes
            ):
                continue
            for endpoint in computes:
                endpoint.update(
                    suspend_timeout_seconds=-1,
                    current_state="active",
                    last_active=old,
                    started_at=old,
                )
                endpoint.pop("suspended_at", None)
            return world, branch_id
    raise AssertionError("the generated world has no child branch with a compute")


async def audited(
    base_url: str,
    db: Path,
    *,
    keep: bool,
    transport: httpx.AsyncBaseTransport | None = None,
    consumption: ConsumptionSettings | None = None,
) -> AuditResult:
    extra: dict[str, Any] = {} if transport is None else {"transport": transport}
    async with (
        fast_client(base_url, PERSONAL_KEY, max_attempts=2, **extra) as client,
        await Store.open_async(db) as store,
    ):
        return await run_audit(
            accounts=[Account("default", client)],
            store=store,
            policies=SHIPPED,
            prices=Prices(),
            clock=lambda: WORLD_NOW,
            keep_snapshot=keep,
            consumption=consumption,
        )


def findings_of(result: AuditResult) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    return {
        finding.key: (
            finding.status,
            finding.estimate_usd,
            finding.estimate_method,
            finding.estimate_parts,
            finding.evidence,
            finding.owned_by,
            finding.owned_by_rule,
            finding.org_id,
            finding.project_id,
            finding.reopen_count,
        )
        for finding in result.findings
    }


def stored(db: Path) -> tuple[Any, ...]:
    with Store.open(db) as store:
        rows = store.call(resource_rows.listed, include_gone=True)
        kept = store.call(history.findings, None)
        (run, *_) = store.call(history.latest_runs)
    resources = sorted(
        (r.resource_type, r.resource_id, r.org_id, r.project_id, r.name, r.raw, r.gone_at)
        for r in rows
    )
    findings = sorted(
        (f.key, f.status, f.estimate_usd, f.estimate_method, f.evidence, f.owned_by, f.resolved_at)
        for f in kept
    )
    summary = (
        run.findings_seen,
        run.findings_opened,
        run.findings_reopened,
        run.findings_resolved,
        run.complete,
    )
    return resources, findings, summary


@pytest.mark.anyio
async def test_a_streamed_audit_stores_and_resolves_what_the_in_memory_audit_does(
    served_simulator: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "BATCH_PROJECTS", 7)  # several batches, one cut mid-org
    world, awake = world_with_an_awake_stale_branch()
    simulator, base_url = served_simulator(world)
    in_memory, streamed = tmp_path / "memory.db", tmp_path / "streamed.db"

    # Neon's meters read and priced from (the calibration reads the spooled roots)
    meters = ConsumptionSettings(requests_per_minute=100_000)
    first = await audited(base_url, in_memory, keep=True, consumption=meters)
    second = await audited(base_url, streamed, keep=False, consumption=meters)
    assert second.snapshot is None
    # its findings wait on disk, read back in order one at a time (or by position)
    assert isinstance(second.findings, SpooledFindings)
    every = list(second.findings)
    assert len(every) == len(second.findings) > 100
    assert [second.findings[3], second.findings[-1]] == [every[3], every[-1]]
    assert second.findings[2:5] == every[2:5]
    monkeypatch.setattr(spooled_findings, "_READ_CHUNK", 3000)  # a few findings per read
    assert list(second.findings) == every
    assert findings_of(first) == findings_of(second)
    assert ("stale-branches", "branch", awake) in findings_of(second)
    assert any((f.estimate_usd or 0) > 0 for f in second.findings)
    assert any(f.estimate_kind == "measured" for f in second.findings)
    assert first.snapshot_counts == second.snapshot_counts
    assert stored(in_memory) == stored(streamed)

    # A branch deleted (its findings resolve, its row goes) and a project unreadable (its
    # findings are kept as they were, not resolved): both paths again.
    states = list(simulator.world.projects.values())
    gone_state = next(s for s in states if awake in s.branches)
    gone_state.branches.pop(awake)
    for endpoint_id in [e for e, v in gone_state.endpoints.items() if v["branch_id"] == awake]:
        gone_state.endpoints.pop(endpoint_id)
    unreadable = next(
        project_id
        for project_id, state in simulator.world.projects.items()
        if state is not gone_state and any(f.project_id == project_id for f in first.findings)
    )
    kept_before = {f.key for f in first.findings if f.project_id == unreadable}

    third = await audited(
        base_url, in_memory, keep=True, transport=FaultyTransport(touches_project(unreadable))
    )
    fourth = await audited(
        base_url, streamed, keep=False, transport=FaultyTransport(touches_project(unreadable))
    )
    assert not fourth.complete
    assert findings_of(third) == findings_of(fourth)
    resolved = {f.key for f in fourth.resolved}
    assert resolved == {f.key for f in third.resolved}
    assert ("stale-branches", "branch", awake) in resolved
    assert not resolved & kept_before  # unknown is never resolved
    assert stored(in_memory) == stored(streamed)


def test_a_spool_gives_back_each_project_as_it_was_written_and_leaves_no_file() -> None:
    spool = ProjectSpool()
    first = spool.put(([], [], [], {"b": {"schedule": []}}, {"e": 3}, {"b": {"k": "v"}}))
    second = spool.put(([], [], [], {}, {"x": 1}, {}))
    assert spool.get(second)[4] == {"x": 1}
    assert spool.get(first)[3:] == ({"b": {"schedule": []}}, {"e": 3}, {"b": {"k": "v"}})
    assert spool.get(None) == ([], [], [], {}, {}, {})
    spool.close()
    with pytest.raises(ValueError, match="closed"):
        spool.get(first)
