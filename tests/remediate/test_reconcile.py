"""After a crash at any point of one remediation, reconcile finishes it and sends nothing twice.

Each test leaves the store exactly as a process killed at that instant would (the journal
rows ``execute`` writes), against the real simulator, then runs ``reconcile``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.remediate.cycle import new_remediation
from governor.remediate.reconcile import reconcile
from governor.store import remediations
from governor.store.encoding import encode_time
from tests.remediate.harness import Rig, rig
from tests.remediate.world import NEVER_SUSPENDS, STALE_CHILD

pytestmark = pytest.mark.anyio


async def _claimed(r: Rig, resource_id: str, *, intent: bool) -> int:
    """A remediation claimed (``executing``), with or without its intent journaled."""
    plan = await r.plan()
    item = next(i for i in plan.items if i.resource_id == resource_id)
    record, _ = await r.store.run(
        remediations.add, new_remediation(item, "planned", None, None), now=r.now()
    )
    moved = await r.store.run(
        remediations.move, record.id, expected=["planned"], to="executing", now=r.now()
    )
    assert moved is not None
    if intent:
        await r.store.run(
            remediations.progress,
            record.id,
            state="executing",
            now=r.now(),
            changes={"intent_at": encode_time(r.now())},
        )
    return record.id


def _sent(r: Rig, resource_id: str) -> list[tuple[str, str, object]]:
    return [m for m in r.mutations() if m[1].endswith(resource_id)]


async def test_killed_before_the_intent_it_ends_skipped_and_sends_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        remediation_id = await _claimed(r, NEVER_SUSPENDS, intent=False)
        [outcome] = await reconcile(r.executor())
        assert outcome.state == "skipped"
        assert "before anything was sent" in outcome.reason
        assert _sent(r, NEVER_SUSPENDS) == []
        assert (await r.store.run(remediations.get, remediation_id)).terminal


async def test_killed_after_sending_but_before_the_answer_was_journaled_it_adopts_the_operations(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        remediation_id = await _claimed(r, STALE_CHILD, intent=True)
        record = await r.store.run(remediations.get, remediation_id)
        await record.change.send(r.client, record)  # the lost answer
        [outcome] = await reconcile(r.executor())
        assert outcome.state == "succeeded"
        assert len(_sent(r, STALE_CHILD)) == 1
        final = await r.store.run(remediations.get, remediation_id)
        assert final.operations
        assert {op["status"] for op in final.operations} == {"finished"}
        assert r.world_branch(STALE_CHILD) is None


async def test_killed_after_the_intent_but_before_sending_it_sends_once(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await _claimed(r, NEVER_SUSPENDS, intent=True)
        [outcome] = await reconcile(r.executor())
        assert outcome.state == "succeeded"
        assert len(_sent(r, NEVER_SUSPENDS)) == 1


async def test_killed_while_waiting_on_operations_it_follows_them_to_the_end(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        remediation_id = await _claimed(r, NEVER_SUSPENDS, intent=True)
        record = await r.store.run(remediations.get, remediation_id)
        mutation = await record.change.send(r.client, record)
        await r.store.run(
            remediations.move,
            remediation_id,
            expected=["executing"],
            to="waiting_operations",
            now=r.now(),
            changes={"operations": [op.raw for op in mutation.operations]},
        )
        [outcome] = await reconcile(r.executor())
        assert outcome.state == "succeeded"
        assert len(_sent(r, NEVER_SUSPENDS)) == 1


async def test_a_change_already_in_effect_with_no_operations_left_succeeds_without_sending(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        remediation_id = await _claimed(r, NEVER_SUSPENDS, intent=True)
        r.simulator.world.project(  # type: ignore[union-attr]
            record_project := (await r.store.run(remediations.get, remediation_id)).project_id or ""
        ).endpoints[NEVER_SUSPENDS]["suspend_timeout_seconds"] = 300
        assert record_project
        [outcome] = await reconcile(r.executor())
        assert outcome.state == "succeeded"
        assert _sent(r, NEVER_SUSPENDS) == []
