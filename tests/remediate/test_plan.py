"""What the plan says it will do, and why not for the rest: grace, windows, caps, order."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.config.remediation import RemediationSettings
from governor.policy import Policy
from governor.policy.model import Limits
from governor.remediate.errors import PlanFileError
from governor.remediate.planfile import read_plan, write_plan
from governor.remediate.render import render_plan_table
from governor.store import remediations
from tests.remediate.harness import rig, shipped
from tests.remediate.world import (
    BEYOND_CAP,
    NEVER_SUSPENDS,
    OVERSIZED,
    PROTECTED_STALE,
    STALE_CHILD,
    STALE_COMPUTE,
    STALE_NO_COMPUTE,
    STALE_PARENT,
    STALE_WITH_COMPUTE,
)
from tests.simulator.worlds import endpoint

pytestmark = pytest.mark.anyio


async def test_every_finding_of_an_acting_policy_has_a_line_with_its_exact_request(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        plan = await r.plan()
        by_id = {item.resource_id: item for item in plan.items}
        assert by_id[STALE_CHILD].status == "act"
        assert by_id[STALE_CHILD].request.startswith("DELETE /projects/")
        assert by_id[STALE_CHILD].irreversible
        assert by_id[STALE_CHILD].disruptive
        # a fixed 32 CU: no lower floor keeps its maximum, so oversized-computes skips it
        assert BEYOND_CAP not in by_id
        assert STALE_COMPUTE not in by_id  # nothing selects it: its branch goes instead
        assert STALE_PARENT not in by_id
        assert PROTECTED_STALE not in by_id
        text = render_plan_table(plan, width=200)
        assert "NEEDS A PERSON" not in text


async def test_children_are_deleted_before_their_parents(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        plan = await r.plan()
        deletes = [
            i.resource_id for i in plan.items if i.change and i.change.kind == "delete_branch"
        ]
        assert deletes[0] == STALE_CHILD


async def test_nothing_is_acted_on_before_the_grace_period_ends(tmp_path: Path) -> None:
    async with rig(tmp_path, policies=shipped(grace=timedelta(days=7))) as r:
        plan = await r.plan()
        waiting = [i for i in plan.items if i.status == "waiting"]
        assert waiting
        assert not plan.actionable
        assert all("grace period" in i.reason for i in waiting)
        await r.apply(plan)  # sends the notices: the grace counts from them
        r.clock.now += timedelta(days=7, seconds=1).total_seconds()
        later = await r.plan()
        assert later.actionable  # the notices are kept across runs


async def test_disruptive_actions_wait_for_the_policys_window(tmp_path: Path) -> None:
    # WORLD_NOW is Friday 2026-11-27 12:00 UTC
    policies = shipped(window="Sat,Sun 00:00-06:00")
    async with rig(tmp_path, policies=policies) as r:
        plan = await r.plan()
        by_id = {item.resource_id: item for item in plan.items}
        assert by_id[STALE_CHILD].status == "waiting"
        assert "2026-11-28T00:00" in by_id[STALE_CHILD].reason
        assert by_id[NEVER_SUSPENDS].status == "act"  # a timeout change drops no connection


async def test_caps_per_policy_per_run_and_per_project_share(tmp_path: Path) -> None:
    limited = [
        p.model_copy(update={"limits": Limits(max_actions_per_run=1)})
        if p.name == "stale-branches"
        else p
        for p in shipped()
    ]
    async with rig(tmp_path, policies=limited) as r:
        plan = await r.plan()
        deletes = [i for i in plan.items if i.change and i.change.kind == "delete_branch"]
        assert [i.status for i in deletes].count("act") == 1
        assert all("at most 1 resources" in i.reason for i in deletes if i.status == "capped")
    (tmp_path / "share").mkdir()
    (tmp_path / "global").mkdir()
    async with rig(tmp_path / "share") as r:
        r.settings = RemediationSettings(enabled=True, max_branch_delete_share=0.3)
        plan = await r.plan()
        deletes = [i for i in plan.items if i.change and i.change.kind == "delete_branch"]
        assert [i.status for i in deletes].count("act") == 2  # floor(0.3 * 7 branches)
    async with rig(tmp_path / "global") as r:
        plan = await r.plan(max_actions=2)
        assert len(plan.actionable) == 2
        assert any("at most 2 actions per run" in i.reason for i in plan.items)


async def test_a_saved_plan_round_trips_and_refuses_edits_and_old_age(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        plan = await r.plan()
        path = tmp_path / "plan.json"
        digest = write_plan(plan, path, ttl=timedelta(hours=1))
        loaded, loaded_digest = read_plan(path, now=r.now())
        assert loaded_digest == digest
        assert [i.as_json() for i in loaded.items] == [i.as_json() for i in plan.items]
        with pytest.raises(PlanFileError, match="expired"):
            read_plan(path, now=r.now() + timedelta(hours=2))
        document = json.loads(path.read_text())
        document["items"][0]["resource_id"] = "br-someone-elses-1"
        path.write_text(json.dumps(document))
        with pytest.raises(PlanFileError, match="edited"):
            read_plan(path, now=r.now())
        path.write_text("{not json")
        with pytest.raises(PlanFileError, match="invalid JSON"):
            read_plan(path, now=r.now())


async def test_the_plan_marks_stale_branches_the_sweep_could_not_fully_read_as_refused(
    tmp_path: Path,
) -> None:
    from governor.simulator import SimulatorOptions
    from tests.remediate.world import PROJECT_ID

    opts = SimulatorOptions(
        requests_per_minute=None,
        requests_per_second_per_route=None,
        unreadable_project_ids=frozenset({PROJECT_ID}),
    )
    async with rig(tmp_path, simulator_options=opts) as r:
        plan = await r.plan()
        assert not plan.complete
        assert all(i.project_id != PROJECT_ID or i.status != "act" for i in plan.items)
        assert STALE_WITH_COMPUTE not in {i.resource_id for i in plan.actionable}
        assert STALE_NO_COMPUTE not in {i.resource_id for i in plan.actionable}


def _endpoint_in(data: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    for org in data["organizations"]:
        for project in org["projects"]:
            for found in project["endpoints"]:
                if found["id"] == endpoint_id:
                    return found  # type: ignore[no-any-return]
    raise KeyError(endpoint_id)


def _never_suspending_oversized(data: dict[str, Any]) -> None:
    _endpoint_in(data, OVERSIZED)["suspend_timeout_seconds"] = -1


def _modes(**modes: str) -> list[Policy]:
    return [
        policy.model_copy(update={"mode": modes.get(policy.name, policy.mode)})
        for policy in shipped("auto")
    ]


async def test_a_report_mode_policy_contributes_nothing_to_a_change_on_a_shared_compute(
    tmp_path: Path,
) -> None:
    # Before: the item took the most acting mode and merged oversized-computes' resize into
    # the PATCH: a report-only policy resized an 8 CU compute to 0.25 CU.
    # idle-read-replicas (the compute is a replica) would ask a delete of it: report too
    policies = _modes(**{"oversized-computes": "report", "idle-read-replicas": "report"})
    async with rig(tmp_path, policies=policies, edit_world=_never_suspending_oversized) as r:
        plan = await r.plan()
        item = next(i for i in plan.items if i.resource_id == OVERSIZED)
        assert item.status == "act"
        assert item.change is not None
        assert item.change.fields == {"suspend_timeout_seconds": 300}
        assert [s.policy for s in item.sources] == ["never-suspending-computes"]
        assert any("oversized-computes (report mode)" in note for note in item.notes)
        await r.apply(plan)
        endpoint = r.world_endpoint(OVERSIZED)
        assert endpoint is not None
        assert endpoint["suspend_timeout_seconds"] == 300
        assert endpoint["autoscaling_limit_min_cu"] == 8  # the report-mode resize never ran
        bodies = [body for _, path, body in r.mutations() if OVERSIZED in path]
        assert all("autoscaling_limit_min_cu" not in json.dumps(body) for body in bodies)


async def test_an_approval_request_shows_only_what_the_acting_policies_ask(
    tmp_path: Path,
) -> None:
    policies = _modes(
        **{
            "never-suspending-computes": "approve",
            "oversized-computes": "report",
            "idle-read-replicas": "report",  # the compute is a replica it would delete
        }
    )
    async with rig(tmp_path, policies=policies, edit_world=_never_suspending_oversized) as r:
        result = await r.apply()
        [request] = [x for x in result.requested if x.resource_id == OVERSIZED]
        assert [f["policy"] for f in request.findings] == ["never-suspending-computes"]
        assert request.policy == "never-suspending-computes"
        assert request.change.as_json() == {
            "kind": "update_endpoint",
            "fields": {"suspend_timeout_seconds": 300},
        }
        assert request.mode == "approve"
        assert not [m for m in r.mutations(ok_only=False) if OVERSIZED in m[1]]


def _nine_more_never_suspending(data: dict[str, Any]) -> None:
    project = data["organizations"][0]["projects"][0]
    for n in range(9):
        project["endpoints"].append(
            endpoint(
                f"ep-never-{n}",
                project["id"],
                "br-main-1",
                type="read_only",
                suspend_timeout_seconds=-1,
                current_state="active",
            )
        )


async def test_an_approved_item_is_not_starved_by_ten_auto_items_under_a_cap_of_five(
    tmp_path: Path,
) -> None:
    from governor.remediate import decisions

    policies = [
        p
        for p in _modes(**{"oversized-computes": "approve"})
        if p.name in ("never-suspending-computes", "oversized-computes")
    ]
    settings = RemediationSettings(enabled=True, max_actions_per_run=5)
    async with rig(
        tmp_path, policies=policies, settings=settings, edit_world=_nine_more_never_suspending
    ) as r:
        first = await r.apply(await r.plan(max_actions=0))  # asks; acts on nothing
        [request] = first.requested
        assert request.resource_id == OVERSIZED
        await decisions.approve(r.store, request.id, actor="cli:root", now=r.now())
        plan = await r.plan()
        assert sum(1 for i in plan.items if i.mode == "auto" and i.change) == 10
        by_id = {item.resource_id: item for item in plan.items}
        assert by_id[OVERSIZED].status == "approved"
        assert len(plan.actionable) == 5
        assert sum(1 for i in plan.items if i.status == "capped") == 6
        assert any("approved items are served first" in note for note in plan.notes)
        result = await r.apply(plan)
        assert (await r.store.run(remediations.get, request.id)).state == "succeeded"
        assert r.world_endpoint(OVERSIZED)["autoscaling_limit_min_cu"] == 2  # type: ignore[index]
        assert len(result.outcomes) == 5


async def test_a_saved_plan_applied_with_max_runs_the_approved_item_first(
    tmp_path: Path,
) -> None:
    from governor.remediate import decisions

    policies = [
        p
        for p in _modes(**{"oversized-computes": "approve"})
        if p.name in ("never-suspending-computes", "oversized-computes")
    ]
    async with rig(tmp_path, policies=policies) as r:
        [request] = (await r.apply(await r.plan(max_actions=0))).requested
        await decisions.approve(r.store, request.id, actor="cli:root", now=r.now())
        plan = await r.plan()
        assert [i.resource_id for i in plan.actionable] == [NEVER_SUSPENDS, OVERSIZED]
        result = await r.apply(plan, max_actions=1)  # apply PLAN --max 1
        assert [o.remediation_id for o in result.outcomes] == [request.id]


async def test_a_branch_without_computes_is_not_said_to_disconnect_its_computes(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        plan = await r.plan()
        by_id = {item.resource_id: item for item in plan.items}
        bare = "; ".join(by_id[STALE_NO_COMPUTE].notes)
        assert "recoverable for 7 days" in bare
        assert "computes disconnect" not in bare
        assert "computes disconnect" in "; ".join(by_id[STALE_CHILD].notes) or (
            "computes disconnect" in "; ".join(by_id[STALE_WITH_COMPUTE].notes)
        )


async def test_grace_counts_from_the_notice_not_from_first_seen(tmp_path: Path) -> None:
    # Before: a month in report mode, then auto with a 7-day grace: branches were deleted
    # 36 ms after their first notice, the grace having run from first_seen.
    grace = timedelta(days=7)
    async with rig(tmp_path, policies=shipped("report", grace=grace)) as r:
        await r.apply()
        assert await r.store.run(remediations.notices, range(1, 1000)) == {}  # reports: no notice
        r.clock.now += timedelta(days=30).total_seconds()
        r.policies = shipped("auto", grace=grace)
        switched = await r.apply()
        assert r.mutations(ok_only=False) == []
        assert not switched.plan.actionable
        waiting = [i for i in switched.plan.items if i.status == "waiting"]
        assert waiting
        assert all("starts when its notice goes out" in i.reason for i in waiting)
        ids = [s.finding_id for i in waiting for s in i.sources]
        noticed = await r.store.run(remediations.notices, ids)
        assert set(noticed) == set(ids)  # the notices went out with that pass
        r.clock.now += timedelta(days=6).total_seconds()
        later = await r.apply()
        assert r.mutations(ok_only=False) == []
        assert all("noticed" in i.reason for i in later.plan.items if i.status == "waiting")
        r.clock.now += timedelta(days=1, seconds=1).total_seconds()
        due = await r.apply()
        assert due.outcomes
        assert r.mutations()


async def test_notices_are_one_summary_line_at_info_not_a_warning_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="governor.remediate.cycle")
    settings = RemediationSettings(enabled=True, max_actions_per_run=1)
    async with rig(tmp_path, settings=settings) as r:
        await r.apply()
        session = [x for x in caplog.records if x.name == "governor.remediate.cycle"]
        assert not [x for x in session if x.levelno >= logging.WARNING]
        lines = [x for x in session if "notice" in x.getMessage()]
        assert len(lines) == 1
        assert lines[0].levelno == logging.INFO
        assert "due later" in lines[0].getMessage()  # the capped ones are counted, not listed


async def test_an_approved_expiry_change_survives_the_next_pass_and_runs(tmp_path: Path) -> None:
    # Before: an expiry change is "now + N days", so the approved row's expires_at never
    # equalled the next pass's: the approval was skipped and asked again on every pass.
    from governor.model.actions import parse_action
    from governor.remediate import decisions

    expiry = parse_action({"type": "set_expiry", "after": "7d"})
    policies = [
        p.model_copy(update={"action": expiry})
        for p in shipped("approve")
        if p.name == "stale-branches"
    ]
    async with rig(tmp_path, policies=policies) as r:
        requested = (await r.apply()).requested
        assert requested
        for request in requested:
            await decisions.approve(r.store, request.id, actor="cli:root", now=r.now())
        r.clock.now += timedelta(hours=1).total_seconds()
        plan = await r.plan()
        approved = [i for i in plan.items if i.remediation_id in {x.id for x in requested}]
        assert [i.status for i in approved] == ["approved"] * len(requested)
        result = await r.apply(plan)
        assert result.requested == []
        assert sorted(o.remediation_id for o in result.outcomes) == sorted(x.id for x in requested)
        assert {o.state for o in result.outcomes} == {"succeeded"}
        for request in requested:
            branch = r.world_branch(request.resource_id)
            assert branch is not None
            assert branch["expires_at"] == request.change.fields["expires_at"]


async def test_the_plan_does_not_claim_act_for_a_personal_key_before_its_creator_is_checked(
    tmp_path: Path,
) -> None:
    # Before: the plan's guard did not know the governor's user (the sweep does not ask
    # GET /auth), so Bob's personal key showed a plain "will act" until the act-time check
    # refused it. Now the plan says the creator check comes at act time.
    bobs_key = 6003

    def add_bobs_key(world: dict[str, Any]) -> None:
        key = dict(world["personal_api_keys"][0])
        key.update(id=bobs_key, name="bobs-laptop")
        key["created_by"] = {"id": "7e57b0b0-0000-4000-8000-000000000b0b", "name": "Bob"}
        world["personal_api_keys"].append(key)

    async with rig(tmp_path, edit_world=add_bobs_key) as r:
        plan = await r.plan()
        bob = next(i for i in plan.items if i.resource_id == str(bobs_key))
        assert bob.change is not None
        assert bob.change.kind == "revoke_personal_key"
        assert "only if its creator, Bob (7e57b0b0-" in bob.reason
        assert "GET /auth just before revoking" in bob.reason
        line = next(x for x in render_plan_table(plan).splitlines() if "bobs-laptop" in x)
        assert "checked against GET /auth" in line
        result = await r.apply(plan)
        [outcome] = [o for o in result.outcomes if o.change.endswith(f"/api_keys/{bobs_key}")]
        assert outcome.state == "skipped"  # and the act-time check does what the plan said
