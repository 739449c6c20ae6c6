"""What the plan says it will do, and why not for the rest: grace, windows, caps, order."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from governor.policy.model import Limits
from governor.remediate.errors import PlanFileError
from governor.remediate.planfile import read_plan, write_plan
from governor.remediate.render import render_plan_table
from governor.remediate.settings import RemediationSettings
from tests.remediate.harness import rig, shipped
from tests.remediate.world import (
    BEYOND_CAP,
    NEVER_SUSPENDS,
    PROTECTED_STALE,
    STALE_CHILD,
    STALE_COMPUTE,
    STALE_NO_COMPUTE,
    STALE_PARENT,
    STALE_WITH_COMPUTE,
)

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
        assert by_id[BEYOND_CAP].status == "needs_person"
        assert STALE_COMPUTE not in by_id  # nothing selects it: its branch goes instead
        assert STALE_PARENT not in by_id
        assert PROTECTED_STALE not in by_id
        text = render_plan_table(plan, width=200)
        assert "NEEDS A PERSON (1)" in text
        assert "16 CU" in text


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
        r.clock.now += timedelta(days=7, seconds=1).total_seconds()
        later = await r.plan()
        assert later.actionable  # first seen is kept across runs


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
