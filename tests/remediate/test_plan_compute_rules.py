"""Plans hold only requests Neon accepts, say what resize chose and why, and never lose a change.

Before: oversized-computes asked a 16-16 CU compute for 0.25-16 CU (Neon answers 400), and
because both settings of one compute share a PATCH, the never-suspending fix failed with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from governor.policy import Policy, load_policies
from governor.remediate import decisions
from governor.remediate.render import render_plan_table
from governor.store import remediations
from tests.remediate.harness import Rig, rig, shipped
from tests.remediate.world import OVERSIZED, PROJECT_ID, RECENT
from tests.simulator.worlds import endpoint

pytestmark = pytest.mark.anyio

SIXTEEN = "ep-sixteen-1"
AT_FLOOR = "ep-at-floor-1"


def _add_computes(data: dict[str, Any]) -> None:
    """A 16-16 CU compute, and an 8-16 CU one that never suspends (its floor is the lowest)."""
    project = data["organizations"][0]["projects"][0]
    project["endpoints"] += [
        endpoint(
            SIXTEEN,
            PROJECT_ID,
            "br-main-1",
            type="read_only",
            autoscaling_limit_min_cu=16,
            autoscaling_limit_max_cu=16,
            last_active=RECENT,  # in use: idle-read-replicas would ask to delete it
        ),
        endpoint(
            AT_FLOOR,
            PROJECT_ID,
            "br-main-1",
            type="read_only",
            autoscaling_limit_min_cu=8,
            autoscaling_limit_max_cu=16,
            suspend_timeout_seconds=-1,
        ),
    ]


def _endpoint(r: Rig, endpoint_id: str) -> dict[str, Any]:
    project = r.simulator.world.project(PROJECT_ID)
    assert project is not None
    return project.endpoints[endpoint_id]


def _floor_policy(tmp_path: Path) -> Policy:
    """oversized-computes as it was before issue 16: every floor of 8 CU, asked for 0.25."""
    path = tmp_path / "floor.yaml"
    path.write_text(
        "- name: floor-at-quarter\n"
        "  resource: endpoint\n"
        "  mode: auto\n"
        "  filters: [{autoscaling_limit_min_cu: {gte: 8}}]\n"
        "  action: {type: resize, min_cu: 0.25}\n"
    )
    [policy] = load_policies([path])
    return policy


async def test_a_16_cu_compute_is_resized_to_8_to_16_and_the_plan_says_what_was_asked_and_why(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path, edit_world=_add_computes) as r:
        plan = await r.plan()
        item = next(i for i in plan.items if i.resource_id == SIXTEEN)
        assert item.change is not None
        assert item.change.fields == {"autoscaling_limit_min_cu": 8.0}
        line = next(line for line in render_plan_table(plan).splitlines() if SIXTEEN in line)
        assert "asked 0.25 CU keeping the maximum" in line
        assert "Neon's autoscaling range spans at most 8 CU" in line
        assert "8-16 CU, half the floor" in line
        result = await r.apply(plan)
        assert {o.state for o in result.outcomes if SIXTEEN in o.resource} == {"succeeded"}
        assert _endpoint(r, SIXTEEN)["autoscaling_limit_min_cu"] == 8


async def test_a_resize_needing_a_person_does_not_take_the_autosuspend_of_its_compute_down(
    tmp_path: Path,
) -> None:
    never = [p for p in shipped("auto") if p.name == "never-suspending-computes"]
    async with rig(
        tmp_path, policies=[*never, _floor_policy(tmp_path)], edit_world=_add_computes
    ) as r:
        plan = await r.plan()
        item = next(i for i in plan.items if i.resource_id == AT_FLOOR)
        assert item.change is not None
        assert item.change.fields == {"suspend_timeout_seconds": 300}
        [note] = [note for note in item.notes if "needs a person" in note]
        assert "the resize needs a person" in note
        assert "the rest of the change goes ahead without it" in note
        await r.apply(plan)
        assert _endpoint(r, AT_FLOOR)["suspend_timeout_seconds"] == 300
        assert _endpoint(r, AT_FLOOR)["autoscaling_limit_min_cu"] == 8
        refused = [m for m in r.mutations(ok_only=False) if m not in r.mutations()]
        assert refused == []


async def test_the_re_check_refuses_a_change_neon_would_refuse_on_the_fresh_read(
    tmp_path: Path,
) -> None:
    [oversized] = [p for p in shipped("approve") if p.name == "oversized-computes"]
    async with rig(tmp_path, policies=[oversized]) as r:
        [request] = (await r.apply()).requested
        assert request.resource_id == OVERSIZED
        assert request.change.fields == {"autoscaling_limit_min_cu": 2.0}  # 8-10 CU -> 2-10
        await decisions.approve(r.store, request.id, actor="cli:root", now=r.now())
        # before it is carried out, someone raises the maximum: 2-16 CU spans 14 CU
        _endpoint(r, OVERSIZED)["autoscaling_limit_max_cu"] = 16
        approved = await r.store.run(remediations.get, request.id)
        outcome = await r.executor().execute_one(approved)
        assert outcome.state == "skipped"
        assert "Neon would refuse it" in outcome.reason
        assert "range spans at most 8 CU" in outcome.reason
        assert not [m for m in r.mutations(ok_only=False) if OVERSIZED in m[1]]
