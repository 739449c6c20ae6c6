"""The never-list: whatever a policy says, these are refused, in plan and at act time alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from governor.model.changes import Change
from governor.model.snapshot import IncompletePart, Snapshot
from governor.policy.model import Exclude
from governor.policy.resources import ResourceView
from governor.remediate.guards import GuardContext, refusal
from tests.policy.builders import NOW

DELETE = Change("delete_branch")


def view(resource_type: str = "branch", **values: Any) -> ResourceView:
    base = {"default": False, "protected": False, "parent_id": "br-main", "has_children": False}
    if resource_type != "branch":
        base = {}
    return ResourceView(
        resource_type,  # type: ignore[arg-type]
        str(values.get("id", "br-1")),
        str(values.get("name", "preview/x")),
        values.pop("org_id", "org-a"),
        values.pop("project_id", "p1"),
        base | values,
    )


def context(**changes: Any) -> GuardContext:
    snapshot = changes.pop("snapshot", Snapshot(taken_at=NOW))
    return GuardContext(snapshot=snapshot, now=NOW, max_clock_skew=timedelta(minutes=5), **changes)


@pytest.mark.parametrize(
    ("values", "why"),
    [
        ({"default": True}, "default branch"),
        ({"protected": True}, "protected branch"),
        ({"parent_id": None}, "root branch"),
        ({"has_children": True}, "child branches"),
        ({"default": None}, "default branch"),  # unknown counts as refused
    ],
)
def test_default_protected_root_and_parent_branches_are_never_touched(
    values: dict[str, Any], why: str
) -> None:
    assert why in (refusal(DELETE, view(**values), [], context()) or "")


def test_an_ordinary_branch_may_be_changed() -> None:
    assert refusal(DELETE, view(), [], context()) is None


@pytest.mark.parametrize(
    ("exclude", "target", "why"),
    [
        (Exclude(names=["preview/*"]), view(), "name pattern"),
        (Exclude(ids=["br-1"]), view(), "by id"),
        (Exclude(projects=["p1"]), view(), "by project"),
        (Exclude(organizations=["org-a"]), view(), "by organization"),
        (Exclude(organizations=["org-z"]), view(org_id=None), "is unknown"),  # fail closed
        (Exclude(projects=["p9"]), view(project_id=None), "is unknown"),
    ],
)
def test_exclusions_hold_and_fail_closed_on_missing_fields(
    exclude: Exclude, target: ResourceView, why: str
) -> None:
    assert why in (refusal(DELETE, target, [exclude], context()) or "")


def test_nothing_is_changed_in_a_project_the_sweep_could_not_read() -> None:
    partial = Snapshot(
        taken_at=NOW, incomplete=[IncompletePart("branches", "503", project_id="p1")]
    )
    assert "could not read" in (refusal(DELETE, view(), [], context(snapshot=partial)) or "")


def test_destructive_changes_wait_while_the_clocks_disagree() -> None:
    skewed = Snapshot(taken_at=NOW, clock_skew_seconds=900.0)
    assert "clock" in (refusal(DELETE, view(), [], context(snapshot=skewed)) or "")
    patch = Change("update_endpoint", {"suspend_timeout_seconds": 300})
    compute = view("endpoint", id="ep-1")
    assert refusal(patch, compute, [], context(snapshot=skewed)) is None


def _key(**values: Any) -> ResourceView:
    return view("api_key", id=42, name="ci", **values)


def test_the_governors_own_key_is_never_revoked() -> None:
    personal = Snapshot(taken_at=NOW, key_scope="personal")
    revoke = Change("revoke_personal_key")
    target = _key(scope="personal", org_id=None, project_id=None)
    assert "own key" in (
        refusal(revoke, target, [], context(snapshot=personal, self_key_id=42)) or ""
    )
    recent = _key(scope="personal", org_id=None, project_id=None, last_used_at=NOW.isoformat())
    assert "15 minutes" in (refusal(revoke, recent, [], context(snapshot=personal)) or "")
    assert refusal(revoke, target, [], context(snapshot=personal)) is None


def test_a_personal_key_is_revoked_only_when_the_governor_runs_as_that_account() -> None:
    organization = Snapshot(taken_at=NOW, key_scope="organization")
    target = _key(scope="personal", org_id=None, project_id=None)
    why = refusal(Change("revoke_personal_key"), target, [], context(snapshot=organization))
    assert "only by its owner" in (why or "")


ALICE = {"id": "0c9d9e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f", "name": "Alice", "image": ""}
BOB = {"id": "7e57b0b0-0000-4000-8000-000000000b0b", "name": "Bob", "image": ""}


def test_a_personal_key_created_by_someone_else_is_not_revoked() -> None:
    personal = Snapshot(taken_at=NOW, key_scope="personal")
    revoke = Change("revoke_personal_key")
    as_alice = context(snapshot=personal, user_id=ALICE["id"])
    bobs = _key(scope="personal", org_id=None, project_id=None, created_by=BOB)
    why = refusal(revoke, bobs, [], as_alice) or ""
    assert "created by Bob" in why
    assert "only by its own user" in why
    alices = _key(scope="personal", org_id=None, project_id=None, created_by=ALICE)
    assert refusal(revoke, alices, [], as_alice) is None
    # the revoke answer's shape: created_by as a bare uuid
    assert refusal(revoke, _key(scope="personal", created_by=BOB["id"]), [], as_alice)
    # at act time (the user known), a key without a readable creator is refused
    nameless = _key(scope="personal", org_id=None, project_id=None)
    assert "creator is unknown" in (refusal(revoke, nameless, [], as_alice) or "")
