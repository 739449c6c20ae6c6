"""Remediation against the simulator over loopback HTTP: each action's exact request and
effect, operations that fail, are retried or time out, outside 423s, pause, re-checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.config.remediation import RemediationSettings
from governor.remediate.errors import RemediationDisabled
from governor.store import remediations
from tests.remediate.harness import options, rig, shipped
from tests.remediate.world import (
    ACTIVE,
    BEYOND_CAP,
    NEVER_SUSPENDS,
    ORG_ID,
    ORG_KEY,
    OVERSIZED,
    PERSONAL_KEY,
    PROJECT_ID,
    PROTECTED_STALE,
    STALE_CHILD,
    STALE_COMPUTE,
    STALE_NO_COMPUTE,
    STALE_PARENT,
    STALE_WITH_COMPUTE,
)

pytestmark = pytest.mark.anyio
P = f"/projects/{PROJECT_ID}"


async def test_auto_policies_send_exactly_one_request_per_finding_and_take_effect(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        result = await r.apply()
        sent = r.mutations()
        assert sorted((method, path) for method, path, _ in sent) == sorted(
            [
                ("DELETE", f"{P}/branches/{STALE_WITH_COMPUTE}"),
                ("DELETE", f"{P}/branches/{STALE_NO_COMPUTE}"),
                ("DELETE", f"{P}/branches/{STALE_CHILD}"),
                ("PATCH", f"{P}/endpoints/{NEVER_SUSPENDS}"),
                ("PATCH", f"{P}/endpoints/{OVERSIZED}"),
                ("DELETE", f"/organizations/{ORG_ID}/api_keys/{ORG_KEY}"),
                ("DELETE", f"/api_keys/{PERSONAL_KEY}"),
            ]
        )
        bodies = {path: body for _, path, body in sent}
        assert bodies[f"{P}/endpoints/{NEVER_SUSPENDS}"] == {
            "endpoint": {"suspend_timeout_seconds": 300}
        }
        # 8-10 CU asked for 0.25: Neon's range spans at most 8 CU, so 2 CU is the lowest
        assert bodies[f"{P}/endpoints/{OVERSIZED}"] == {"endpoint": {"autoscaling_limit_min_cu": 2}}
        assert {outcome.state for outcome in result.outcomes} == {"succeeded"}
        assert r.world_branch(STALE_CHILD) is None
        assert r.world_branch(STALE_PARENT) is not None  # it had a child at plan time
        assert r.world_branch(PROTECTED_STALE) is not None
        assert r.world_branch(ACTIVE) is not None
        assert r.world_endpoint(STALE_COMPUTE) is None  # went with its branch, no PATCH
        assert r.world_endpoint(NEVER_SUSPENDS)["suspend_timeout_seconds"] == 300  # type: ignore[index]
        oversized = r.world_endpoint(OVERSIZED)
        assert oversized is not None
        assert (oversized["autoscaling_limit_min_cu"], oversized["autoscaling_limit_max_cu"]) == (
            2,
            10,
        )
        assert r.world_endpoint(BEYOND_CAP)["autoscaling_limit_min_cu"] == 32  # type: ignore[index]


def _state(r, resource_id: str) -> dict:  # type: ignore[no-untyped-def]
    project = r.simulator.world.project(PROJECT_ID)
    return project.branches.get(resource_id) or project.endpoints[resource_id]


async def test_with_remediation_off_apply_refuses_and_sends_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path, settings=RemediationSettings()) as r:
        plan = await r.plan()
        assert any(item.status == "act" for item in plan.items)
        assert "remediation is off" in plan.notes[0]
        with pytest.raises(RemediationDisabled, match="enabled = true"):
            await r.apply(plan)
        assert r.mutations(ok_only=False) == []


async def test_report_mode_plans_what_it_would_do_and_never_acts(tmp_path: Path) -> None:
    async with rig(tmp_path, policies=shipped("report")) as r:
        result = await r.apply()
        assert {item.status for item in result.plan.items} >= {"report_only"}
        assert "act" not in {item.status for item in result.plan.items}
        assert r.mutations(ok_only=False) == []


async def test_approve_mode_runs_only_what_a_person_approved(tmp_path: Path) -> None:
    from governor.remediate import decisions

    async with rig(tmp_path, policies=shipped("approve")) as r:
        first = await r.apply()
        assert r.mutations(ok_only=False) == []
        waiting = {record.resource_id: record for record in first.requested}
        assert set(waiting) >= {STALE_CHILD, NEVER_SUSPENDS, str(ORG_KEY)}
        await decisions.approve(r.store, waiting[NEVER_SUSPENDS].id, actor="alice", now=r.now())
        second = await r.apply()
        assert [(m, p) for m, p, _ in r.mutations()] == [
            ("PATCH", f"{P}/endpoints/{NEVER_SUSPENDS}")
        ]
        assert [o.state for o in second.outcomes] == ["succeeded"]
        still = await r.store.run(remediations.get, waiting[STALE_CHILD].id)
        assert still.state == "awaiting_approval"
        assert second.requested == []  # no second request for what is already waiting


async def test_an_approval_for_other_evidence_is_void_and_asked_again(tmp_path: Path) -> None:
    from governor.remediate import decisions

    async with rig(tmp_path, policies=shipped("approve")) as r:
        first = await r.apply()
        request = next(x for x in first.requested if x.resource_id == OVERSIZED)
        await decisions.approve(r.store, request.id, actor="alice", now=r.now())
        _state(r, OVERSIZED)["autoscaling_limit_min_cu"] = 9  # still oversized, other evidence
        second = await r.apply()
        assert r.mutations() == []
        voided = await r.store.run(remediations.get, request.id)
        assert voided.state == "skipped"
        assert "differs from what was approved" in (voided.reason or "")
        assert any(x.resource_id == OVERSIZED for x in second.requested)


async def test_an_operation_that_fails_for_good_ends_failed_with_neons_error(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, simulator_options=options(operation_failure_fraction=1.0)) as r:
        result = await r.apply()
        by_change = {o.change.split()[1]: o for o in result.outcomes}
        patch = by_change[f"{P}/endpoints/{NEVER_SUSPENDS}"]
        assert patch.state == "failed"
        assert "simulated failure" in patch.reason
        assert by_change[f"/organizations/{ORG_ID}/api_keys/{ORG_KEY}"].state == "succeeded"
        assert _state(r, NEVER_SUSPENDS)["suspend_timeout_seconds"] == -1
        assert len([m for m in r.mutations() if m[1].endswith(NEVER_SUSPENDS)]) == 1


async def test_a_failed_operation_neon_retries_is_followed_until_it_finishes(
    tmp_path: Path,
) -> None:
    retried = options(operation_retry_fraction=1.0, operation_retry_seconds=30.0)
    async with rig(tmp_path, simulator_options=retried) as r:
        result = await r.apply()
        assert {o.state for o in result.outcomes} == {"succeeded"}
        record = next(
            x for x in await r.store.run(remediations.listed) if x.resource_id == NEVER_SUSPENDS
        )
        assert all(op["status"] == "finished" for op in record.operations)
        assert any(op.get("failures_count", 0) >= 1 for op in record.operations)
        assert _state(r, NEVER_SUSPENDS)["suspend_timeout_seconds"] == 300


async def test_operations_still_running_at_the_timeout_end_failed_and_are_not_resent(
    tmp_path: Path,
) -> None:
    from datetime import timedelta

    slow = options(operation_seconds=(600.0, 600.0))
    hurried = RemediationSettings(enabled=True, operation_timeout=timedelta(seconds=20))
    async with rig(tmp_path, simulator_options=slow, settings=hurried) as r:
        result = await r.apply()
        in_project = [o for o in result.outcomes if PROJECT_ID in o.change]
        assert {o.state for o in in_project} == {"failed"}
        # the first change's operations outlive the timeout; the project stays locked by
        # them for the next ones, which are never sent
        assert "still not done after 20 s" in in_project[0].reason
        assert {o.reason for o in in_project[1:]} == {
            "the project stayed locked by other operations"
        }
        paths = [path for _, path, _ in r.mutations()]
        assert len(paths) == len(set(paths))


async def test_a_423_from_operations_someone_else_started_is_waited_out(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        plan = await r.plan()
        r.simulator.start_system_operation(PROJECT_ID, seconds=120.0)
        result = await r.apply(plan)
        assert {o.state for o in result.outcomes} == {"succeeded"}
        statuses = [e["status"] for e in r.simulator.logged_requests() if e["method"] != "GET"]
        assert 423 in statuses, "the outside operation should have answered 423 at least once"
        assert len(r.mutations()) == 7  # each change once


async def test_pause_stops_every_mutation_until_resume(tmp_path: Path) -> None:
    from governor.remediate import decisions

    async with rig(tmp_path) as r:
        await decisions.set_paused(r.store, True, actor="bob", reason="incident", now=r.now())
        paused = await r.apply()
        assert r.mutations(ok_only=False) == []
        assert paused.outcomes == []
        assert paused.plan.paused
        await decisions.set_paused(r.store, False, actor="bob", reason=None, now=r.now())
        resumed = await r.apply()
        assert {o.state for o in resumed.outcomes} == {"succeeded"}


async def test_a_branch_used_since_the_plan_is_skipped_not_deleted(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        plan = await r.plan()
        stamp = r.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        _state(r, STALE_COMPUTE).update(current_state="active", last_active=stamp, started_at=stamp)
        result = await r.apply(plan)
        skipped = next(o for o in result.outcomes if STALE_WITH_COMPUTE in o.change)
        assert skipped.state == "skipped"
        assert "no longer selects it" in skipped.reason
        assert not [m for m in r.mutations() if STALE_WITH_COMPUTE in m[1]]


async def test_a_saved_plan_skips_what_changed_and_touches_nothing_outside_it(
    tmp_path: Path,
) -> None:
    from governor.remediate.planfile import read_plan, write_plan
    from tests.simulator.worlds import branch

    async with rig(tmp_path) as r:
        path = tmp_path / "plan.json"
        write_plan(await r.plan(), path, ttl=r.settings.plan_ttl)
        _state(r, STALE_NO_COMPUTE)["protected"] = True
        project = r.simulator.world.project(PROJECT_ID)
        project.branches["br-new-stale-1"] = branch(
            "br-new-stale-1", PROJECT_ID, "late", "br-main-1",
            created_at="2026-08-01T08:00:00Z", updated_at="2026-08-01T08:00:00Z",
        )  # fmt: skip
        saved, digest = read_plan(path, now=r.now())
        result = await r.apply(saved, plan_hash=digest)
        protected = next(o for o in result.outcomes if STALE_NO_COMPUTE in o.change)
        assert protected.state == "skipped"
        assert not [m for m in r.mutations() if "br-new-stale-1" in m[1]]
        assert all(x.plan_hash == digest for x in await r.store.run(remediations.listed))


async def test_an_exclusion_added_after_the_plan_is_honoured_when_acting(tmp_path: Path) -> None:
    from governor.policy.model import Exclude

    async with rig(tmp_path) as r:
        plan = await r.plan()
        r.policies = [
            p.model_copy(update={"exclude": Exclude(names=["preview/*"])})
            if p.name == "stale-branches"
            else p
            for p in r.policies
        ]
        result = await r.apply(plan)
        preview = [o for o in result.outcomes if STALE_NO_COMPUTE in o.change]
        assert preview[0].state == "skipped"
        assert "excluded by name pattern 'preview/*'" in preview[0].reason
        deleted = {p for m, p, _ in r.mutations() if m == "DELETE" and "/branches/" in p}
        assert deleted == {f"{P}/branches/{STALE_CHILD}"}


async def test_revert_restores_what_the_remediation_changed_through_the_same_path(
    tmp_path: Path,
) -> None:
    from governor.remediate import decisions

    async with rig(tmp_path) as r:
        await r.apply()
        done = next(
            x for x in await r.store.run(remediations.listed) if x.resource_id == NEVER_SUSPENDS
        )
        revert = await decisions.plan_revert(r.store, done.id, actor="carol", now=r.now())
        [outcome] = await r.executor().run([revert])
        assert outcome.state == "succeeded"
        assert _state(r, NEVER_SUSPENDS)["suspend_timeout_seconds"] == -1
        assert r.mutations()[-1][2] == {"endpoint": {"suspend_timeout_seconds": -1}}


async def test_revert_refuses_when_someone_changed_the_resource_since(tmp_path: Path) -> None:
    from governor.remediate import decisions

    async with rig(tmp_path) as r:
        await r.apply()
        done = next(x for x in await r.store.run(remediations.listed) if x.resource_id == OVERSIZED)
        _state(r, OVERSIZED)["autoscaling_limit_min_cu"] = 1
        revert = await decisions.plan_revert(r.store, done.id, actor="carol", now=r.now())
        [outcome] = await r.executor().run([revert])
        assert outcome.state == "skipped"
        assert "changed since the remediation" in outcome.reason
        assert _state(r, OVERSIZED)["autoscaling_limit_min_cu"] == 1


async def test_a_pause_from_another_process_stops_the_next_mutation_of_a_running_apply(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from governor.store import Store

    def pause_after_first(outcome: object) -> None:
        with Store.open(tmp_path / "governor.db") as other:
            other.call(
                remediations.set_paused,
                True,
                reason="stop",
                actor="other-process",
                now=datetime.now(UTC),
            )

    async with rig(tmp_path, settings=RemediationSettings(enabled=True, concurrency=1)) as r:
        r.outcomes_seen = []
        executor = r.executor(report=pause_after_first)
        from governor.remediate.cycle import apply_plan

        result = await apply_plan(await r.plan(), executor=executor, run_id=None)
        states = [o.state for o in result.outcomes]
        assert states.count("succeeded") == 1
        assert len(r.mutations(ok_only=False)) == 1
        assert {o.reason for o in result.outcomes if o.state != "succeeded"} <= {
            "paused: not started",
            "paused before sending",
        }
