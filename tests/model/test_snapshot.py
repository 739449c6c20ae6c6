"""Which parts of the account a snapshot vouches for: unknown must never read as gone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from governor.model.snapshot import IncompletePart, Snapshot


def _snapshot(*parts: IncompletePart) -> Snapshot:
    return Snapshot(taken_at=datetime(2026, 11, 27, tzinfo=UTC), incomplete=list(parts))


def test_a_complete_snapshot_covers_everything() -> None:
    snapshot = _snapshot()
    assert snapshot.complete
    assert snapshot.covers("branch", "org-a", "p1")
    assert snapshot.covers("api_key", None, None)


def test_an_unreadable_organization_list_covers_nothing() -> None:
    snapshot = _snapshot(IncompletePart("organizations", "503"))
    for resource_type in ("project", "branch", "endpoint", "api_key"):
        assert not snapshot.covers(resource_type, "org-a", "p1")  # type: ignore[arg-type]


def test_one_unreadable_organization_leaves_the_others_covered() -> None:
    snapshot = _snapshot(IncompletePart("organizations", "503", org_id="org-a"))
    assert not snapshot.covers("branch", "org-a", "p1")
    assert snapshot.covers("branch", "org-b", "p2")


@pytest.mark.parametrize(
    ("kind", "uncovered", "covered"),
    [
        ("project", {"project"}, {"branch", "endpoint", "api_key"}),
        ("branches", {"branch", "endpoint"}, {"project", "api_key"}),
        ("endpoints", {"branch", "endpoint"}, {"project", "api_key"}),
    ],
)
def test_a_failed_project_part_uncovers_what_depends_on_it(
    kind: str, uncovered: set[str], covered: set[str]
) -> None:
    snapshot = _snapshot(IncompletePart(kind, "500", org_id="org-a", project_id="p1"))  # type: ignore[arg-type]
    for resource_type in uncovered:
        assert not snapshot.covers(resource_type, "org-a", "p1")  # type: ignore[arg-type]
    for resource_type in covered:
        assert snapshot.covers(resource_type, "org-a", "p1")  # type: ignore[arg-type]
    assert snapshot.covers("branch", "org-a", "p2")


def test_a_failed_project_list_uncovers_that_organization_or_that_project() -> None:
    whole = _snapshot(IncompletePart("projects", "524", org_id="org-a"))
    assert not whole.covers("endpoint", "org-a", "p9")
    assert whole.covers("endpoint", "org-b", "p9")
    one = _snapshot(IncompletePart("projects", "unavailable", org_id="org-a", project_id="p1"))
    assert not one.covers("project", "org-a", "p1")
    assert one.covers("project", "org-a", "p2")


def test_unreadable_keys_uncover_only_keys_of_that_owner() -> None:
    snapshot = _snapshot(IncompletePart("api_keys", "403", org_id=None))
    assert not snapshot.covers("api_key", None, None)
    assert snapshot.covers("api_key", "org-a", None)
    assert snapshot.covers("branch", "org-a", "p1")
