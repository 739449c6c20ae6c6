"""Guards asked again at act time: a skew that appears after the plan stops every delete
and revoke, whatever the path (an approval, a saved plan, crash reconcile's re-send); a
personal key is revoked only when the user the governor runs as created it.

Why: the re-read before acting used to build its snapshot without the client's skew, so
only the plan was guarded; with Neon's clock 2 h off a saved plan deleted 79 branches and
revoked 10 keys. The simulator's ``Date`` header is skewed as Neon's would be.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from governor.model.changes import Change
from governor.remediate import decisions
from governor.remediate.recheck import clock_skip
from governor.remediate.reconcile import reconcile
from governor.store import remediations
from governor.store.encoding import encode_time
from governor.store.remediations import RemediationRecord
from tests.neon.helpers import fast_client
from tests.remediate.harness import Rig, rig, shipped
from tests.remediate.world import (
    ORG_KEY,
    PERSONAL_KEY,
    PERSONAL_TOKEN,
    PROJECT_ID,
    STALE_CHILD,
    STALE_NO_COMPUTE,
)

pytestmark = pytest.mark.anyio
TWO_HOURS = 7200.0
DESTRUCTIVE = ("DELETE",)


def _destructive_requests(r: Rig) -> list[str]:
    """Every DELETE the simulator saw, answered or not: none may even be tried."""
    return [
        f"{entry['method']} {entry['path']}"
        for entry in r.simulator.logged_requests()
        if entry["method"] in DESTRUCTIVE
    ]


async def _skipped_for_clocks(r: Rig, record: RemediationRecord) -> str:
    row = await r.store.run(remediations.get, record.id)
    assert row.state == "skipped", (row.state, row.reason)
    assert "clock" in (row.reason or ""), row.reason
    return row.reason or ""


async def test_an_approved_delete_and_revoke_are_refused_when_neons_clock_is_off_at_act_time(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        first = await r.apply()  # no skew yet: the requests are made
        waiting = {record.resource_id: record for record in first.requested}
        chosen = [waiting[STALE_CHILD], waiting[str(ORG_KEY)], waiting[str(PERSONAL_KEY)]]
        approved = [
            await decisions.approve(r.store, record.id, actor="alice", now=r.now())
            for record in chosen
        ]
        r.simulator.set_clock_skew(TWO_HOURS)  # Neon's clock goes 2 h off after the approval
        outcomes = await r.executor().run(approved)  # what a Slack Approve click runs
        assert {outcome.state for outcome in outcomes} == {"skipped"}
        assert _destructive_requests(r) == []
        for record in approved:
            reason = await _skipped_for_clocks(r, record)
            assert "differ by 7200 s" in reason or "differ by 7199 s" in reason
        assert r.world_branch(STALE_CHILD) is not None


async def test_a_saved_plan_deletes_and_revokes_nothing_when_neons_clock_went_off_since(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        planned = await r.plan()  # made while the clocks agree: deletes and revokes act
        kinds = {item.change.kind for item in planned.actionable if item.change is not None}
        assert {"delete_branch", "revoke_org_key", "revoke_personal_key"} <= kinds
        r.simulator.set_clock_skew(-TWO_HOURS)
        result = await r.apply(planned)
        assert _destructive_requests(r) == []
        destructive = [o for o in result.outcomes if o.change.startswith("DELETE ")]
        assert len(destructive) >= 3  # branches, an organization key, a personal key
        assert {outcome.state for outcome in destructive} == {"skipped"}
        assert all("clock" in outcome.reason for outcome in destructive)
        # changes that do not rest on ages or dates still go ahead
        assert any(
            outcome.state == "succeeded" and outcome.change.startswith("PATCH ")
            for outcome in result.outcomes
        )


async def test_reconciles_resend_after_a_crash_is_refused_when_the_clocks_disagree(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, policies=shipped("approve")) as r:
        first = await r.apply()
        request = next(x for x in first.requested if x.resource_id == STALE_NO_COMPUTE)
        await decisions.approve(r.store, request.id, actor="alice", now=r.now())
        # a process claimed it and journaled its intent, then was killed before sending
        claimed = await r.store.run(
            remediations.move,
            request.id,
            expected=["approved"],
            to="executing",
            now=r.now(),
            actor="dead",
        )
        assert claimed is not None
        await r.store.run(
            remediations.progress,
            request.id,
            state="executing",
            now=r.now(),
            changes={"intent_at": encode_time(r.now(), what="intent_at")},
        )
        r.simulator.set_clock_skew(TWO_HOURS)
        await reconcile(r.executor())
        assert _destructive_requests(r) == []
        await _skipped_for_clocks(r, request)
        assert r.world_branch(STALE_NO_COMPUTE) is not None


async def test_a_personal_key_someone_else_created_is_not_revoked_at_act_time(
    tmp_path: Path,
) -> None:
    """Lower item of issue 17: compare ``created_by`` with the user the governor runs as."""
    bobs_key = 6003

    def add_bobs_key(world: dict[str, Any]) -> None:
        key = dict(world["personal_api_keys"][0])
        key.update(id=bobs_key, name="bobs-laptop")
        key["created_by"] = {"id": "7e57b0b0-0000-4000-8000-000000000b0b", "name": "Bob"}
        world["personal_api_keys"].append(key)

    async with rig(tmp_path, edit_world=add_bobs_key) as r:
        result = await r.apply()
        sent = [path for method, path, _ in r.mutations(ok_only=False) if method == "DELETE"]
        assert f"/api_keys/{PERSONAL_KEY}" in sent  # Alice's own key: she runs the governor
        assert f"/api_keys/{bobs_key}" not in sent
        bob = next(o for o in result.outcomes if o.change.endswith(f"/api_keys/{bobs_key}"))
        assert bob.state == "skipped"
        assert "created by Bob" in bob.reason


async def test_a_delete_is_refused_at_act_time_when_neons_clock_cannot_be_read(
    tmp_path: Path,
) -> None:
    """Fail closed: a skew the re-read cannot measure is no proof that the clocks agree."""
    async with rig(tmp_path, policies=shipped("approve")) as r:
        first = await r.apply()
        request = next(x for x in first.requested if x.resource_id == STALE_CHILD)
        approved = await decisions.approve(r.store, request.id, actor="alice", now=r.now())
        # a client whose own clock is unreadable: no Date header can be compared with it
        async with fast_client(
            r.client.base_url,
            PERSONAL_TOKEN,
            clock=r.clock,
            sleep=r.clock.sleep,
            wall_clock=lambda: float("nan"),
        ) as blind:
            outcomes = await r.executor(clients={"default": blind}).run([approved])
        assert [outcome.state for outcome in outcomes] == ["skipped"]
        assert "Date header" in outcomes[0].reason
        assert _destructive_requests(r) == []


async def test_a_resend_within_one_execution_sees_the_skew_of_the_latest_answers(
    tmp_path: Path,
) -> None:
    """``clock_skip``: what the executor asks before sending again (after a 5xx, a lock)."""
    async with rig(tmp_path) as r:
        delete = Change("delete_branch")
        await r.client.get_project(PROJECT_ID)
        assert clock_skip(r.client, delete, r.settings) is None
        r.simulator.set_clock_skew(TWO_HOURS)
        await r.client.get_project(PROJECT_ID)  # any answer measures it again
        assert "differ by" in (clock_skip(r.client, delete, r.settings) or "")
        assert clock_skip(r.client, Change("update_endpoint", {"x": 1}), r.settings) is None


async def test_a_delete_locked_out_while_neons_clock_goes_off_is_never_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The executor's send loop went round again after a 423 without asking the skew guard:
    the clocks drifted 2 h apart during the wait, and the delete was sent anyway."""
    async with rig(tmp_path, policies=shipped("approve")) as r:
        first = await r.apply()
        request = next(x for x in first.requested if x.resource_id == STALE_CHILD)
        approved = await decisions.approve(r.store, request.id, actor="alice", now=r.now())
        r.simulator.start_system_operation(PROJECT_ID, seconds=120.0)  # the delete meets 423
        stepped = r.clock.sleep

        async def drift_after_the_first_423(seconds: float) -> None:
            if any(e["status"] == 423 for e in r.simulator.logged_requests()):
                r.simulator.set_clock_skew(TWO_HOURS)  # Neon's clock goes off while we wait
            await stepped(seconds)

        monkeypatch.setattr(r.clock, "sleep", drift_after_the_first_423)
        monkeypatch.setattr(r.client.pacer, "sleep", drift_after_the_first_423)
        outcomes = await r.executor().run([approved])
        deletes = [
            e for e in r.simulator.logged_requests() if e["path"].endswith(f"/{STALE_CHILD}")
        ]
        assert [e["status"] for e in deletes if e["method"] == "DELETE"] != []
        assert {e["status"] for e in deletes if e["method"] == "DELETE"} == {423}
        assert [outcome.state for outcome in outcomes] == ["skipped"]
        await _skipped_for_clocks(r, approved)
        assert r.world_branch(STALE_CHILD) is not None
