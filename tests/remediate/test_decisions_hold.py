"""A person's "no" and Neon's refusal hold until the evidence changes.

Before: a rejected (or withdrawn) remediation was planned and asked again on the very next
pass, and a change Neon refused was sent again on every pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from governor.model.actions import parse_action
from governor.policy import Policy
from governor.remediate import decisions
from governor.store import remediations
from governor.store.encoding import encode_time
from tests.remediate.harness import Rig, rig, shipped
from tests.remediate.world import NEVER_SUSPENDS, OVERSIZED, PROJECT_ID

pytestmark = pytest.mark.anyio


def _oversized(mode: str, **action: Any) -> list[Policy]:
    """oversized-computes alone, in ``mode``, with its action changed as given."""
    [policy] = [p for p in shipped(mode) if p.name == "oversized-computes"]
    if action:
        policy = policy.model_copy(update={"action": parse_action({"type": "resize", **action})})
    return [policy]


def _endpoint(r: Rig, endpoint_id: str) -> dict[str, Any]:
    project = r.simulator.world.project(PROJECT_ID)
    assert project is not None
    return project.endpoints[endpoint_id]


async def _three_passes_hold(r: Rig, reason: str) -> None:
    for _ in range(3):
        passed = await r.apply()
        assert passed.requested == []
        item = next(i for i in passed.plan.items if i.resource_id == OVERSIZED)
        assert item.status == "held"
        assert reason in item.reason
        assert not [m for m in r.mutations(ok_only=False) if OVERSIZED in m[1]]
    assert await r.store.run(remediations.listed, states=["awaiting_approval", "approved"]) == []


async def test_a_rejected_request_is_not_asked_again_while_its_evidence_is_unchanged(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, policies=_oversized("approve")) as r:
        [request] = (await r.apply()).requested
        await decisions.reject(r.store, request.id, actor="cli:root", reason=None, now=r.now())
        assert (await r.store.run(remediations.get, request.id)).state == "rejected"
        await _three_passes_hold(r, "rejected by cli:root at ")
        plan = await r.plan()
        held = next(i for i in plan.items if i.resource_id == OVERSIZED)
        assert held.reason.endswith("asked again when the evidence changes")
        _endpoint(r, OVERSIZED)["autoscaling_limit_min_cu"] = 9  # new evidence
        [again] = (await r.apply()).requested
        assert again.resource_id == OVERSIZED
        assert again.id != request.id


async def test_a_withdrawn_approval_is_not_asked_again_while_its_evidence_is_unchanged(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, policies=_oversized("approve")) as r:
        [request] = (await r.apply()).requested
        await decisions.approve(r.store, request.id, actor="cli:root", now=r.now())
        withdrawn = await decisions.reject(
            r.store, request.id, actor="cli:ops", reason="prod peak", now=r.now()
        )
        assert withdrawn.state == "skipped"
        await _three_passes_hold(r, "withdrawn by cli:ops at ")


def _never_suspending(seconds: int) -> list[Policy]:
    """never-suspending-computes alone, in auto mode, asking ``seconds``."""
    [policy] = [p for p in shipped("auto") if p.name == "never-suspending-computes"]
    action = parse_action({"type": "set_autosuspend", "seconds": seconds})
    return [policy.model_copy(update={"action": action})]


def _launch_plan_the_governor_does_not_know(data: dict[str, Any]) -> None:
    """A Launch plan under a name the governor does not know yet ("launch_2027").

    The governor plans with only the spec's range (1 h is in it); the simulator, like Neon,
    knows it for a Launch plan (5 minutes or never), so it answers 400.
    """
    [org] = data["organizations"]
    org["plan"] = "launch_2027"


async def test_a_change_neon_refused_is_not_sent_again_until_the_resource_or_policy_changes(
    tmp_path: Path,
) -> None:
    async with rig(
        tmp_path,
        policies=_never_suspending(3600),
        edit_world=_launch_plan_the_governor_does_not_know,
    ) as r:
        first = await r.apply()
        [failed] = [o for o in first.outcomes if NEVER_SUSPENDS in o.resource]
        assert failed.state == "failed"
        sent = [m for m in r.mutations(ok_only=False) if NEVER_SUSPENDS in m[1]]
        assert len(sent) == 1
        for _ in range(3):
            passed = await r.apply()
            item = next(i for i in passed.plan.items if i.resource_id == NEVER_SUSPENDS)
            assert item.status == "held"
            assert "Neon refused it at " in item.reason
            assert "planned again when the resource or the policy changes" in item.reason
        assert [m for m in r.mutations(ok_only=False) if NEVER_SUSPENDS in m[1]] == sent
        # the resource changed: planned (and refused) again
        _endpoint(r, NEVER_SUSPENDS)["autoscaling_limit_max_cu"] = 2
        again = await r.apply()
        assert [o.state for o in again.outcomes if NEVER_SUSPENDS in o.resource] == ["failed"]
        # the policy changed: planned again, and this time Neon takes it
        r.policies = _never_suspending(300)
        fixed = await r.apply()
        assert [o.state for o in fixed.outcomes if NEVER_SUSPENDS in o.resource] == ["succeeded"]
        assert _endpoint(r, NEVER_SUSPENDS)["suspend_timeout_seconds"] == 300


async def test_a_withdrawal_holds_by_who_decided_not_by_the_wording_of_its_reason(
    tmp_path: Path,
) -> None:
    # Before: the hold parsed the reason ("approval withdrawn by" / "rejected by"): a person's
    # withdrawal worded otherwise was asked again at once, and a governor's skip whose reason
    # began with those words held as if a person had said no.
    async with rig(tmp_path, policies=_oversized("approve")) as r:
        [request] = (await r.apply()).requested
        await decisions.approve(r.store, request.id, actor="cli:root", now=r.now())
        stamp = encode_time(r.now())
        withdrawn = await r.store.run(
            remediations.move,
            request.id,
            expected=["approved"],
            to="skipped",
            now=r.now(),
            actor="runbook:ops",
            reason="the owner needs it through the launch",  # another channel's words
            changes={"decided_by": "runbook:ops", "decided_at": stamp},
        )
        assert withdrawn is not None
        await _three_passes_hold(r, "approval withdrawn by runbook:ops at ")

    (tmp_path / "second").mkdir()
    async with rig(tmp_path / "second", policies=_oversized("approve")) as r:
        [request] = (await r.apply()).requested
        await decisions.approve(r.store, request.id, actor="cli:root", now=r.now())
        r.clock.now += 60
        claimed = await r.store.run(
            remediations.move,
            request.id,
            expected=["approved"],
            to="executing",
            now=r.now(),
            actor="governor",
            changes={"owner": "host:1:2:3:token"},
        )
        assert claimed is not None
        await r.store.run(
            remediations.move,
            request.id,
            expected=["executing"],
            to="skipped",
            now=r.now(),
            actor="governor",
            reason="rejected by the re-read: its evidence changed since it was planned",
        )
        plan = await r.plan()
        item = next(i for i in plan.items if i.resource_id == OVERSIZED)
        assert item.status == "needs_approval"  # the governor's skip is no person's "no"
