"""evaluate(): what each finding says, the derived fields, exclusions and fingerprints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from governor.model.snapshot import Snapshot
from governor.policy import Policy, evaluate
from tests.policy.builders import (
    DAY,
    NOW,
    branch,
    endpoint,
    key,
    project,
    project_snapshot,
    snapshot,
    stamp,
)


def policy(resource: str, filters: Any, **fields: Any) -> Policy:
    return Policy.model_validate(
        {"name": "test", "resource": resource, "filters": filters, **fields}
    )


def ids(found_policy: Policy, world: Snapshot) -> list[str]:
    return [finding.resource_id for finding in evaluate([found_policy], world, now=NOW)]


def test_a_branch_finding_carries_identity_evidence_and_a_summary() -> None:
    world = snapshot(
        branches=[branch("br-1", name="preview/old", logical_size=1_200_000_000)],
        endpoints=[endpoint("ep-1", "br-1", last_active=stamp(84 * DAY))],
    )
    stale = policy(
        "branch",
        [{"protected": False}, {"last_activity": {"older_than": "30d"}}],
        action={"type": "delete"},
        severity="high",
        mode="approve",
    )
    [finding] = evaluate([stale], world, now=NOW)
    assert (finding.policy, finding.resource_type, finding.resource_id) == (
        "test",
        "branch",
        "br-1",
    )
    assert (finding.org_id, finding.project_id, finding.name) == ("org-a", "p1", "preview/old")
    assert (finding.severity, finding.mode, finding.action.as_json()) == (
        "high",
        "approve",
        {"type": "delete"},
    )
    assert finding.evidence == {"protected": False, "last_activity": stamp(84 * DAY)}
    assert finding.summary == "idle 84 days (last activity 2026-09-04), 1.2 GB"
    assert finding.estimate is None


def test_branch_derived_fields_come_from_its_computes_and_children() -> None:
    world = snapshot(
        branches=[branch("br-parent"), branch("br-child", parent_id="br-parent")],
        endpoints=[
            endpoint(
                "ep-1", "br-parent", last_active=stamp(50 * DAY), suspended_at=stamp(40 * DAY)
            ),
            endpoint("ep-2", "br-parent", started_at=stamp(45 * DAY)),
        ],
    )
    assert ids(policy("branch", {"has_children": True}), world) == ["br-parent"]
    assert ids(policy("branch", {"compute_count": 2}), world) == ["br-parent"]
    assert ids(policy("branch", {"compute_count": 0}), world) == ["br-child"]
    assert ids(policy("branch", {"last_activity": {"older_than": "40d"}}), world) == []
    assert ids(policy("branch", {"last_activity": {"older_than": "39d"}}), world) == ["br-parent"]
    assert ids(policy("branch", {"last_activity": {"absent": True}}), world) == ["br-child"]
    assert ids(policy("branch", {"project_name": "name-p1", "org_id": "org-a"}), world) == [
        "br-parent",
        "br-child",
    ]


def test_endpoint_derived_fields_describe_its_branch() -> None:
    world = snapshot(
        branches=[branch("br-main", default=True, name="main"), branch("br-dev", protected=True)],
        endpoints=[
            endpoint("ep-main", "br-main", suspended_at=stamp(DAY)),
            endpoint("ep-dev", "br-dev"),
            endpoint("ep-orphan", "br-gone"),
        ],
    )
    assert ids(policy("endpoint", {"branch_default": True}), world) == ["ep-main"]
    assert ids(policy("endpoint", {"branch_protected": True}), world) == ["ep-dev"]
    assert ids(policy("endpoint", {"branch_name": "main"}), world) == ["ep-main"]
    assert ids(policy("endpoint", {"branch_name": {"absent": True}}), world) == ["ep-orphan"]
    assert ids(policy("endpoint", {"last_activity": {"newer_than": "2d"}}), world) == ["ep-main"]


def test_key_findings_use_the_numeric_id_as_text_and_know_their_scope() -> None:
    world = snapshot(
        api_keys=[
            key(7, "personal"),
            key(8, "organization", "org-a"),
            key(9, "project", "org-a", project_id="p1"),
        ]
    )
    found = evaluate([policy("api_key", {"scope": {"ne": "personal"}})], world, now=NOW)
    assert [(f.resource_id, f.org_id, f.project_id) for f in found] == [
        ("8", "org-a", None),
        ("9", "org-a", "p1"),
    ]
    assert ids(policy("api_key", {"project_name": "name-p1"}), world) == ["9"]
    assert ids(policy("api_key", {"org_id": {"absent": True}}), world) == ["7"]


def test_project_findings_count_branches_and_computes() -> None:
    world = snapshot(
        projects=[project("p1"), project("p2", org_id="org-b")],
        branches=[branch("br-1"), branch("br-2")],
        endpoints=[endpoint("ep-1", "br-1")],
    )
    found = evaluate([policy("project", {"branch_count": {"gte": 2}})], world, now=NOW)
    assert [(f.resource_id, f.project_id, f.name) for f in found] == [("p1", "p1", "name-p1")]
    assert ids(policy("project", {"compute_count": 0, "org_id": "org-b"}), world) == ["p2"]


def test_an_endpoint_without_a_name_is_named_by_its_id() -> None:
    world = snapshot(
        branches=[branch("br-1")],
        endpoints=[endpoint("ep-plain", "br-1"), endpoint("ep-named", "br-1", name="reporting")],
    )
    found = evaluate([policy("endpoint", {"type": "read_write"})], world, now=NOW)
    assert [f.name for f in found] == ["ep-plain", "reporting"]


@pytest.mark.parametrize(
    ("exclude", "expected"),
    [
        ({}, ["br-a", "br-b", "br-c"]),
        ({"names": ["name-br-a"]}, ["br-b", "br-c"]),
        ({"names": ["name-br-[ab]"]}, ["br-c"]),
        ({"names": ["*"]}, []),
        ({"ids": ["br-b"]}, ["br-a", "br-c"]),
        ({"projects": ["p2"]}, ["br-a", "br-b"]),
        ({"organizations": ["org-b"]}, ["br-a", "br-b"]),
        ({"organizations": ["org-a"], "ids": ["br-c"]}, []),
    ],
)
def test_excluded_resources_are_never_selected(
    exclude: dict[str, Any], expected: list[str]
) -> None:
    world = snapshot(
        projects=[project("p1"), project("p2", org_id="org-b")],
        branches=[branch("br-a"), branch("br-b"), branch("br-c", project_id="p2")],
    )
    assert ids(policy("branch", {"default": False}, exclude=exclude), world) == expected


def test_keys_can_be_excluded_by_numeric_id() -> None:
    world = snapshot(api_keys=[key(1), key(2)])
    assert ids(policy("api_key", {"id": {"gt": 0}}, exclude={"ids": [2]}), world) == ["1"]


def test_the_fingerprint_changes_only_when_the_evidence_does() -> None:
    rule = policy("endpoint", {"autoscaling_limit_min_cu": {"gte": 8}})

    def fingerprint(world: Snapshot, now: datetime = NOW) -> str:
        [finding] = evaluate([rule], world, now=now)
        return finding.fingerprint

    base = snapshot(
        branches=[branch("br-1")], endpoints=[endpoint("ep-1", "br-1", autoscaling_limit_min_cu=8)]
    )
    unrelated_change = snapshot(
        branches=[branch("br-1")],
        endpoints=[endpoint("ep-1", "br-1", autoscaling_limit_min_cu=8, current_state="active")],
    )
    evidence_change = snapshot(
        branches=[branch("br-1")], endpoints=[endpoint("ep-1", "br-1", autoscaling_limit_min_cu=10)]
    )
    assert fingerprint(base) == fingerprint(unrelated_change) == fingerprint(base, NOW + DAY)
    assert fingerprint(base) != fingerprint(evidence_change)
    assert len(fingerprint(base)) == 64


def test_resize_without_max_keeps_the_current_maximum_but_never_below_the_minimum() -> None:
    world = snapshot(
        branches=[branch("br-1")],
        endpoints=[
            endpoint("ep-1", "br-1", autoscaling_limit_min_cu=0.25, autoscaling_limit_max_cu=0.5),
        ],
    )
    keep = policy("endpoint", {"id": "ep-1"}, action={"type": "resize", "min_cu": 1})
    explicit = policy(
        "endpoint", {"id": "ep-1"}, action={"type": "resize", "min_cu": 1, "max_cu": 4}
    )
    assert evaluate([keep], world, now=NOW)[0].action.as_json() == {
        "type": "resize",
        "min_cu": 1.0,
        "max_cu": 1.0,
    }
    assert evaluate([explicit], world, now=NOW)[0].action.as_json() == {
        "type": "resize",
        "min_cu": 1.0,
        "max_cu": 4.0,
    }


def test_set_expiry_action_is_resolved_to_seconds() -> None:
    world = snapshot(branches=[branch("br-1")])
    rule = policy("branch", {"id": "br-1"}, action={"type": "set_expiry", "after": "7d"})
    assert evaluate([rule], world, now=NOW)[0].action.as_json() == {
        "type": "set_expiry",
        "after_seconds": 604800,
    }


def test_the_summary_names_the_reason_that_matched() -> None:
    rule = policy(
        "branch",
        {
            "any": [
                {"last_activity": {"older_than": "30d"}},
                {"all": [{"compute_count": 0}, {"created_at": {"older_than": "30d"}}]},
            ]
        },
    )
    world = snapshot(branches=[branch("br-1", created_at=stamp(45 * DAY), logical_size=...)])
    [finding] = evaluate([rule], world, now=NOW)
    assert finding.summary == "no compute, created 45 days ago (2026-10-13)"
    assert set(finding.evidence) == {"last_activity", "compute_count", "created_at"}


def test_findings_follow_policy_order_then_snapshot_order() -> None:
    world = snapshot(branches=[branch("br-1"), branch("br-2")])
    first = Policy.model_validate(
        {"name": "first", "resource": "branch", "filters": {"id": "br-2"}}
    )
    second = Policy.model_validate(
        {"name": "second", "resource": "branch", "filters": {"default": False}}
    )
    found = evaluate([first, second], world, now=NOW)
    assert [(f.policy, f.resource_id) for f in found] == [
        ("first", "br-2"),
        ("second", "br-1"),
        ("second", "br-2"),
    ]


def test_evaluate_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate([], snapshot(), now=NOW.replace(tzinfo=None))


def test_resources_missing_most_fields_do_not_crash_evaluation() -> None:
    world = snapshot(
        branches=[branch("br-1", created_at=..., updated_at=..., default=..., protected=...)],
        endpoints=[endpoint("ep-1", "br-1", suspend_timeout_seconds=..., created_at=...)],
        api_keys=[key(1, created_at=...)],
        snapshots=[project_snapshot("snap-1", created_at=..., manual=...)],
        backup_schedules={"br-1": {"schedule": "not a list"}},
    )
    everything = [
        policy(resource, {"any": [{"created_at": {"older_than": "1d"}}, {"id": {"present": True}}]})
        for resource in ("organization", "project", "branch", "endpoint", "api_key", "snapshot")
    ]
    assert len(evaluate(everything, world, now=NOW)) == 6
