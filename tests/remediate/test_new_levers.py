"""The issue-18 change kinds end to end against the simulator: plan → apply → outcome →
revert where revertible; the data-protection gate in mode auto; two approvers for a
project delete; Neon's limits met in the plan (needs a person, never a refused request)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.config.remediation import RemediationSettings
from governor.config.slack import SlackSettings
from governor.policy import Policy
from governor.policy.loader import load_policies
from governor.remediate import decisions, planfile
from governor.remediate.errors import RemediationError
from governor.remediate.render import render_plan_table
from governor.store import remediations
from tests.remediate.harness import rig
from tests.remediate.world import NEVER_SUSPENDS, ORG_ID, OVERSIZED, PROJECT_ID

pytestmark = pytest.mark.anyio
P = f"/projects/{PROJECT_ID}"
SNAPSHOT_ID = "snap-old-1"
ACTING = RemediationSettings(enabled=True, auto_data_protection=True)
SCHEDULE = [{"frequency": "daily", "hour": 3}, {"frequency": "weekly", "day": 1, "hour": 4}]


def lever_world(data: dict[str, Any], *, plan: str = "scale", retention: int = 604800) -> None:
    org = next(org for org in data["organizations"] if org["id"] == ORG_ID)
    org["plan"] = plan
    project = next(p for p in org["projects"] if p["id"] == PROJECT_ID)
    project["history_retention_seconds"] = retention
    project["default_endpoint_settings"] = {
        "autoscaling_limit_min_cu": 1,
        "autoscaling_limit_max_cu": 2,
        "suspend_timeout_seconds": -1,
    }
    project["snapshots"] = [
        {
            "id": SNAPSHOT_ID,
            "name": "before-migration",
            "created_at": "2026-08-01T00:00:00Z",
            "manual": True,
            "full_size": 2_000_000_000,
            "source_branch_id": "br-main-1",
        }
    ]
    project["backup_schedules"] = {"br-main-1": {"schedule": SCHEDULE}}


def scheduled_world(data: dict[str, Any]) -> None:
    """``lever_world`` and a snapshot its schedule took, kept for ever (no expiry): what a
    schedule without retention leaves, and what the sweep reads the schedule for."""
    lever_world(data)
    org = next(org for org in data["organizations"] if org["id"] == ORG_ID)
    project = next(p for p in org["projects"] if p["id"] == PROJECT_ID)
    project["snapshots"].append(
        {
            "id": "snap-scheduled-1",
            "name": "scheduled-2026-11-30",
            "created_at": "2026-11-30T03:00:00Z",
            "manual": False,
            "full_size": 1_000_000_000,
            "diff_size": 50_000_000,
            "source_branch_id": "br-main-1",
        }
    )


def policy(tmp_path: Path, resource: str, filters: str, action: str, mode: str) -> list[Policy]:
    path = tmp_path / "lever.yaml"
    path.write_text(
        f"- name: lever\n  resource: {resource}\n  mode: {mode}\n  severity: low\n"
        f"  filters:\n{filters}  action: {action}\n",
        encoding="utf-8",
    )
    return load_policies([path])


PROJECT = f"    - id: {PROJECT_ID}\n"


def world(r: Any) -> Any:
    return r.simulator.world.project(PROJECT_ID)


async def _done(r: Any) -> Any:
    [record] = [x for x in await r.store.run(remediations.listed) if x.reverts_id is None]
    return record


async def _revert(r: Any, record: Any) -> Any:
    revert = await decisions.plan_revert(r.store, record.id, actor="carol", now=r.now())
    [outcome] = await r.executor().run([revert])
    return outcome


async def test_a_restore_window_is_shortened_with_one_patch_and_restored_by_revert(
    tmp_path: Path,
) -> None:
    levers = policy(tmp_path, "project", PROJECT, "{type: set_retention, seconds: 86400}", "auto")
    async with rig(tmp_path, policies=levers, settings=ACTING, edit_world=lever_world) as r:
        result = await r.apply()
        assert [o.state for o in result.outcomes] == ["succeeded"]
        assert r.mutations() == [("PATCH", P, {"project": {"history_retention_seconds": 86400}})]
        assert world(r).project["history_retention_seconds"] == 86400
        done = await _done(r)
        assert done.change.data_protection
        assert (await _revert(r, done)).state == "succeeded"
        assert r.mutations()[-1][2] == {"project": {"history_retention_seconds": 604800}}
        assert world(r).project["history_retention_seconds"] == 604800


async def test_a_data_protection_change_in_mode_auto_waits_for_a_person(tmp_path: Path) -> None:
    levers = policy(tmp_path, "project", PROJECT, "{type: set_retention, seconds: 86400}", "auto")
    async with rig(tmp_path, policies=levers, edit_world=lever_world) as r:
        plan = await r.plan()
        [item] = plan.items
        assert item.status == "needs_approval"
        assert "auto_data_protection" in item.reason
        first = await r.apply()
        assert r.mutations(ok_only=False) == []
        [request] = first.requested
        await decisions.approve(r.store, request.id, actor="alice", now=r.now())
        second = await r.apply()
        assert [o.state for o in second.outcomes] == ["succeeded"]
        assert world(r).project["history_retention_seconds"] == 86400


async def test_the_governor_never_lengthens_a_restore_window(tmp_path: Path) -> None:
    levers = policy(tmp_path, "project", PROJECT, "{type: set_retention, seconds: 86400}", "auto")

    def short(data: dict[str, Any]) -> None:
        lever_world(data, retention=3600)

    async with rig(tmp_path, policies=levers, settings=ACTING, edit_world=short) as r:
        [item] = (await r.plan()).items
        assert item.status == "done_already"
        assert "never lengthens" in item.reason
        await r.apply()
        assert r.mutations(ok_only=False) == []


async def test_a_restore_window_the_plan_does_not_allow_needs_a_person_not_a_request(
    tmp_path: Path,
) -> None:
    # Free caps the window at 6 hours: 12 hours would be refused by Neon
    levers = policy(tmp_path, "project", PROJECT, "{type: set_retention, seconds: 43200}", "auto")

    def free(data: dict[str, Any]) -> None:
        lever_world(data, plan="free", retention=86400)

    async with rig(tmp_path, policies=levers, settings=ACTING, edit_world=free) as r:
        [item] = (await r.plan()).items
        assert item.status == "needs_person"
        assert "free plan allows a restore window of at most 21600" in item.reason
        await r.apply()
        assert r.mutations(ok_only=False) == []


async def test_project_defaults_are_sent_whole_and_restored_by_revert(tmp_path: Path) -> None:
    action = "{type: set_project_defaults, suspend_timeout_seconds: 300, min_cu: 0.25}"
    levers = policy(tmp_path, "project", PROJECT, action, "auto")
    async with rig(tmp_path, policies=levers, edit_world=lever_world) as r:
        result = await r.apply()
        assert [o.state for o in result.outcomes] == ["succeeded"]  # not data protection
        wanted = {
            "autoscaling_limit_min_cu": 0.25,
            "autoscaling_limit_max_cu": 2,
            "suspend_timeout_seconds": 300,
        }
        assert r.mutations() == [("PATCH", P, {"project": {"default_endpoint_settings": wanted}})]
        assert world(r).project["default_endpoint_settings"] == wanted
        assert (await _revert(r, await _done(r))).state == "succeeded"
        assert world(r).project["default_endpoint_settings"] == {
            "autoscaling_limit_min_cu": 1,
            "autoscaling_limit_max_cu": 2,
            "suspend_timeout_seconds": -1,
        }


async def test_project_defaults_neon_would_refuse_need_a_person(tmp_path: Path) -> None:
    # the Launch plan allows scale to zero after 5 minutes or never: 600 s is refused
    action = "{type: set_project_defaults, suspend_timeout_seconds: 600}"
    levers = policy(tmp_path, "project", PROJECT, action, "auto")

    def launch(data: dict[str, Any]) -> None:
        lever_world(data, plan="launch")

    async with rig(tmp_path, policies=levers, edit_world=launch) as r:
        [item] = (await r.plan()).items
        assert item.status == "needs_person"
        assert "Launch plan" in item.reason
        await r.apply()
        assert r.mutations(ok_only=False) == []


async def test_a_snapshot_is_deleted_once_and_cannot_be_reverted(tmp_path: Path) -> None:
    levers = policy(tmp_path, "snapshot", "    - manual: true\n", "{type: delete_snapshot}", "auto")
    async with rig(tmp_path, policies=levers, settings=ACTING, edit_world=lever_world) as r:
        result = await r.apply()
        assert [o.state for o in result.outcomes] == ["succeeded"]
        assert r.mutations() == [("DELETE", f"{P}/snapshots/{SNAPSHOT_ID}", None)]
        assert world(r).snapshots == {}
        done = await _done(r)
        assert done.irreversible
        with pytest.raises(RemediationError, match="cannot recover a deleted snapshot"):
            await decisions.plan_revert(r.store, done.id, actor="carol", now=r.now())


async def test_a_backup_schedule_gets_a_retention_with_its_items_kept_and_reverts(
    tmp_path: Path,
) -> None:
    filters = "    - id: br-main-1\n    - backup_schedule_without_retention: true\n"
    levers = policy(
        tmp_path, "branch", filters, "{type: set_backup_retention, retention: 14d}", "auto"
    )

    async with rig(tmp_path, policies=levers, settings=ACTING, edit_world=scheduled_world) as r:
        result = await r.apply()
        assert [o.state for o in result.outcomes] == ["succeeded"]
        kept = [{**item, "retention_seconds": 1209600} for item in SCHEDULE]
        path = f"{P}/branches/br-main-1/backup_schedule"
        assert r.mutations() == [("PUT", path, {"schedule": kept})]
        assert world(r).backup_schedules["br-main-1"] == {"schedule": kept}
        assert (await _revert(r, await _done(r))).state == "succeeded"
        assert world(r).backup_schedules["br-main-1"] == {"schedule": SCHEDULE}


async def test_a_deleted_project_is_recovered_by_revert_within_seven_days(
    tmp_path: Path,
) -> None:
    levers = policy(tmp_path, "project", PROJECT, "{type: delete_project}", "approve")
    async with rig(tmp_path, policies=levers, edit_world=lever_world) as r:
        [request] = (await r.apply()).requested
        assert request.irreversible
        assert request.disruptive
        await decisions.approve(r.store, request.id, actor="alice", now=r.now())
        second = await r.apply()
        assert [o.state for o in second.outcomes] == ["succeeded"]
        assert r.mutations() == [("DELETE", P, None)]
        assert world(r) is None
        assert (await _revert(r, await _done(r))).state == "succeeded"
        assert r.mutations()[-1][:2] == ("POST", f"{P}/recover")
        assert world(r) is not None


async def test_a_replica_is_deleted_and_cannot_be_reverted(tmp_path: Path) -> None:
    filters = f"    - id: {OVERSIZED}\n"
    levers = policy(tmp_path, "endpoint", filters, "{type: delete_endpoint}", "auto")
    async with rig(tmp_path, policies=levers, edit_world=lever_world) as r:
        result = await r.apply()
        assert [o.state for o in result.outcomes] == ["succeeded"]
        assert r.mutations() == [("DELETE", f"{P}/endpoints/{OVERSIZED}", None)]
        assert r.world_endpoint(OVERSIZED) is None
        with pytest.raises(RemediationError, match="new host name"):
            await decisions.plan_revert(r.store, (await _done(r)).id, actor="c", now=r.now())


async def test_a_disabled_compute_is_enabled_again_by_revert(tmp_path: Path) -> None:
    filters = f"    - id: {NEVER_SUSPENDS}\n"
    levers = policy(tmp_path, "endpoint", filters, "{type: disable_compute}", "auto")
    async with rig(tmp_path, policies=levers, edit_world=lever_world) as r:
        [item] = (await r.plan()).items
        assert item.disruptive
        result = await r.apply()
        assert [o.state for o in result.outcomes] == ["succeeded"]
        path = f"{P}/endpoints/{NEVER_SUSPENDS}"
        assert r.mutations() == [("PATCH", path, {"endpoint": {"disabled": True}})]
        endpoint = r.world_endpoint(NEVER_SUSPENDS)
        assert endpoint is not None
        assert (endpoint["disabled"], endpoint["current_state"]) == (True, "idle")
        assert (await _revert(r, await _done(r))).state == "succeeded"
        assert r.mutations()[-1][2] == {"endpoint": {"disabled": False}}


async def test_two_acting_policies_asking_a_delete_and_a_patch_need_a_person(
    tmp_path: Path,
) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(
        f"- name: one\n  resource: endpoint\n  mode: auto\n  filters:\n"
        f"    - id: {NEVER_SUSPENDS}\n  action: {{type: delete_endpoint}}\n"
        f"- name: two\n  resource: endpoint\n  mode: auto\n  filters:\n"
        f"    - id: {NEVER_SUSPENDS}\n  action: {{type: set_autosuspend, seconds: 300}}\n",
        encoding="utf-8",
    )
    async with rig(tmp_path, policies=load_policies([path]), edit_world=lever_world) as r:
        [item] = (await r.plan()).items
        assert item.status == "needs_person"
        assert "cannot share one resource" in item.reason
        await r.apply()
        assert r.mutations(ok_only=False) == []


def test_a_project_delete_needs_two_approvers_unless_configured() -> None:
    plain = SlackSettings()
    assert plain.required_for(True, "delete_branch") == 1
    assert plain.required_for(True, "delete_project") == 2
    assert SlackSettings(required_approvals=3).required_for(True, "delete_project") == 3
    configured = SlackSettings(destructive_required_approvals=1)
    assert configured.required_for(True, "delete_project") == 1


async def test_a_backup_schedule_of_a_protected_branch_is_never_changed(tmp_path: Path) -> None:
    filters = "    - id: br-main-1\n    - backup_schedule_without_retention: true\n"
    levers = policy(
        tmp_path, "branch", filters, "{type: set_backup_retention, retention: 14d}", "auto"
    )

    def protected(data: dict[str, Any]) -> None:
        scheduled_world(data)
        project = data["organizations"][0]["projects"][0]
        next(b for b in project["branches"] if b["id"] == "br-main-1")["protected"] = True

    async with rig(tmp_path, policies=levers, settings=ACTING, edit_world=protected) as r:
        [item] = (await r.plan()).items
        assert item.status == "refused"
        assert "protected branch" in item.reason
        await r.apply()
        assert r.mutations(ok_only=False) == []


async def test_a_project_delete_records_its_recovery_and_no_revert_is_offered_after_it(
    tmp_path: Path,
) -> None:
    levers = policy(tmp_path, "project", PROJECT, "{type: delete_project}", "approve")
    async with rig(tmp_path, policies=levers, edit_world=lever_world) as r:
        [request] = (await r.apply()).requested
        await decisions.approve(r.store, request.id, actor="alice", now=r.now())
        await r.apply()
        done = await _done(r)
        assert done.state == "succeeded"
        assert done.recoverable_until is not None
        assert done.recoverable_until.startswith("2026-12-04T12:00")  # 7 days after
        r.clock.now += timedelta(days=7, seconds=1).total_seconds()
        with pytest.raises(RemediationError, match="Neon's recovery ended at 2026-12-04T12:00"):
            await decisions.plan_revert(r.store, done.id, actor="carol", now=r.now())
        assert world(r) is None


async def test_the_plan_table_flags_a_data_protection_change(tmp_path: Path) -> None:
    levers = policy(tmp_path, "snapshot", "    - manual: true\n", "{type: delete_snapshot}", "auto")
    async with rig(tmp_path, policies=levers, edit_world=lever_world) as r:
        table = render_plan_table(await r.plan())
        [line] = [line for line in table.splitlines() if SNAPSHOT_ID in line]
        assert "irreversible, data protection" in line


@pytest.mark.parametrize(
    ("resource", "filters", "action"),
    [
        ("project", PROJECT, "{type: set_retention, seconds: 86400}"),
        ("project", PROJECT, "{type: set_project_defaults, suspend_timeout_seconds: 300}"),
        ("snapshot", "    - manual: true\n", "{type: delete_snapshot}"),
        (
            "branch",
            "    - backup_schedule_without_retention: true\n",
            "{type: set_backup_retention, retention: 14d}",
        ),
        ("project", PROJECT, "{type: delete_project}"),
        ("endpoint", f"    - id: {OVERSIZED}\n", "{type: delete_endpoint}"),
        ("endpoint", f"    - id: {NEVER_SUSPENDS}\n", "{type: disable_compute}"),
    ],
)
async def test_a_saved_plan_of_each_new_action_is_what_its_policy_proposes(
    tmp_path: Path, resource: str, filters: str, action: str
) -> None:
    levers = policy(tmp_path, resource, filters, action, "approve")
    async with rig(tmp_path, policies=levers, edit_world=scheduled_world) as r:
        plan = await r.plan()
        [item] = plan.items
        assert item.status == "needs_approval"
        wanted = {source.finding_id for source in item.sources}
        findings = await r.store.run(planfile._findings, wanted)
        problem = planfile.item_problem(
            item,
            policies={p.name: p for p in levers},
            findings=findings,
            created_at=plan.created_at,
        )
        assert problem is None
