"""After a reload, the new generation starts what the old pass left, under its own config.

Why: a stopping generation claims nothing more, and the new one's catch-up sweep was
skipped while the old sweep job still ran, so the old pass's planned rows waited a whole
schedule period. What is started must still act under the reloaded policies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.config import Config
from governor.daemon.jobs import JobContext
from governor.daemon.remediation import DaemonRemediation
from governor.observability.metrics import Metrics
from governor.policy import Policy
from governor.runtime import Runtime
from governor.store import remediations
from governor.store.remediations import RemediationRecord
from governor.sweep import Account
from tests.remediate.harness import Rig, rig, shipped

pytestmark = pytest.mark.anyio


def _context(r: Rig, policies: list[Policy]) -> JobContext:
    runtime = Runtime(Config().model_copy(update={"remediation": r.settings}), clock=r.now)
    return JobContext(runtime, policies, r.store, [Account("default", r.client)], Metrics())


async def _left_planned(r: Rig) -> list[RemediationRecord]:
    """A pass whose generation began stopping before it claimed anything."""
    old = _context(r, r.policies)
    old.stopping.set()
    await DaemonRemediation(old).after_audit(await r.audit())
    planned = await r.store.run(remediations.listed, states=["planned"])
    assert planned
    assert old.unstarted == {record.id for record in planned}
    return planned


async def test_the_new_generation_starts_the_rows_a_stopping_generation_left_planned(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        planned = await _left_planned(r)
        assert r.mutations(ok_only=False) == []
        new = _context(r, r.policies)
        await DaemonRemediation(new).resume({record.id for record in planned}, [])
        ended = [await r.store.run(remediations.get, record.id) for record in planned]
        assert {row.state for row in ended} <= {"succeeded", "skipped"}
        assert "succeeded" in {row.state for row in ended}
        sent = [path for _, path, _ in r.mutations()]
        assert len(sent) == len(set(sent))  # each change once


async def test_a_row_whose_policy_the_reload_made_report_only_is_not_started(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        planned = await _left_planned(r)
        new = _context(r, shipped("report"))
        await DaemonRemediation(new).resume({record.id for record in planned}, [])
        assert r.mutations(ok_only=False) == []
        rows = [await r.store.run(remediations.get, record.id) for record in planned]
        assert {row.state for row in rows} == {"planned"}


async def test_a_sweep_whose_pass_the_stopping_generation_skipped_gets_its_pass(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        audit = await r.audit()  # read while the old generation stopped: no pass ran
        assert await r.store.run(remediations.listed) == []
        await DaemonRemediation(_context(r, r.policies)).resume(set(), [audit])
        states = {row.state for row in await r.store.run(remediations.listed)}
        assert "succeeded" in states
        assert states <= {"succeeded", "skipped"}
