"""The fields issue 18 adds are typed and known: ``policies validate`` refuses what can never
match them, names typos on the new resource types, and the pipeline measures them."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from governor.model.snapshot import IncompletePart
from governor.pipeline.stages import evaluate_stage
from governor.policy import (
    PolicyError,
    evaluate,
    load_policies,
    policy_file_schema,
    shipped_policies_path,
)
from governor.policy.fields import DERIVED_FIELDS, DERIVED_KINDS
from governor.policy.resources import SnapshotIndex
from tests.policy.builders import (
    DAY,
    NOW,
    branch,
    endpoint,
    hourly_usage,
    organization,
    project,
    snapshot,
)


def problems(tmp_path: Path, resource: str, filters: str, extra: str = "") -> str:
    file = tmp_path / "p.yaml"
    file.write_text(
        textwrap.dedent(
            f"""\
            - name: p
              resource: {resource}
              filters: {filters}
            """
        )
        + extra
    )
    with pytest.raises(PolicyError) as raised:
        load_policies([file])
    return str(raised.value)


@pytest.mark.parametrize(
    ("resource", "filters", "message"),
    [
        ("endpoint", "[{active_share_7d: {older_than: 7d}}]",
         "active_share_7d is a number: older_than never matches it"),
        ("branch", "[{is_root: 'no'}]", "is_root is a boolean: 'no' never equals it"),
        ("branch", "[{backup_taken_at: {gt: 5}}]", "backup_taken_at is a timestamp"),
        ("project", "[{extra_child_branches: {gte: '2026-01-31T00:00:00Z'}}]",
         "extra_child_branches is a number"),
        ("organization", "[{scale_features_used: {eq: HIPAA}}]",
         "scale_features_used is a list: eq never matches it"),
        ("organization", "[{plan: {in: [scale, 3]}}]", "plan is a string: 3 never equals it"),
    ],
)  # fmt: skip
def test_an_operator_or_value_that_never_matches_a_derived_field_is_refused(
    tmp_path: Path, resource: str, filters: str, message: str
) -> None:
    assert message in problems(tmp_path, resource, filters)


def test_a_typo_on_a_snapshot_or_organization_field_names_the_field_meant(
    tmp_path: Path,
) -> None:
    assert "did you mean 'manual'?" in problems(tmp_path, "snapshot", "[{manul: true}]")
    assert "did you mean 'spending_limit_cents'?" in problems(
        tmp_path, "organization", "[{spending_limit_cent: {absent: true}}]"
    )


def test_an_evidence_field_with_a_typo_is_refused(tmp_path: Path) -> None:
    text = problems(
        tmp_path, "endpoint", "[{suspend_timeout_seconds: 600}]", "  evidence: [activation_30d]\n"
    )
    assert "did you mean 'activations_30d'?" in text


def test_every_derived_field_has_a_kind_and_the_schema_describes_it() -> None:
    assert {r: set(f) for r, f in DERIVED_FIELDS.items()} == {
        r: set(k) for r, k in DERIVED_KINDS.items()
    }
    schema = json.dumps(policy_file_schema())
    for name in ("active_share_7d (number:", "backup_taken_at (timestamp:", "within_free_limits"):
        assert name in schema
    assert '"snapshot"' in schema
    assert '"organization"' in schema


def test_the_audit_evaluation_measures_kept_awake_computes_from_the_store_s_usage() -> None:
    policies = [
        p for p in load_policies([shipped_policies_path()]) if p.name == "computes-kept-awake"
    ]
    world = snapshot(
        branches=[branch("b1", default=True)],
        endpoints=[endpoint("e1", "b1", suspend_timeout_seconds=300)],
    )
    usage = hourly_usage({"b1": (168, 168, 0.25)})
    measured = evaluate_stage(policies, world, now=NOW, usage=usage)
    assert [finding.resource_id for finding in measured.findings] == ["e1"]
    assert evaluate_stage(policies, world, now=NOW).findings == ()


def test_a_new_activation_count_keeps_the_finding_s_fingerprint() -> None:
    """The count is evidence, not a filter: were it hashed, every new activation would make
    a new finding and the executor's re-check would call the planned change outdated."""
    policies = [
        p for p in load_policies([shipped_policies_path()]) if p.name == "long-suspend-timeouts"
    ]
    compute = endpoint("e1", "b1", suspend_timeout_seconds=3600)
    before = evaluate(policies, snapshot(endpoints=[compute], activations={"e1": 3}), now=NOW)
    after = evaluate(policies, snapshot(endpoints=[compute], activations={"e1": 9}), now=NOW)
    unread = evaluate(policies, snapshot(endpoints=[compute]), now=NOW)
    assert [f.evidence["activations_30d"] for f in (*before, *after, *unread)] == [3, 9, None]
    assert before[0].fingerprint == after[0].fingerprint == unread[0].fingerprint


def test_a_project_whose_branches_were_not_read_is_never_given_a_shorter_restore_window() -> None:
    """A protected branch not seen is not no protected branch: restore-window is a
    data-protection change."""
    policies = [p for p in load_policies([shipped_policies_path()]) if p.name == "restore-window"]
    unread = IncompletePart("branches", "HTTP 503", org_id="org-a", project_id="p1")
    world = snapshot(
        projects=[project("p1", history_retention_seconds=604800)], incomplete=[unread]
    )
    assert evaluate(policies, world, now=NOW) == []
    world.incomplete.clear()
    assert [f.resource_id for f in evaluate(policies, world, now=NOW)] == ["p1"]


def test_an_organization_whose_projects_were_not_all_read_is_no_plan_fit() -> None:
    policies = [p for p in load_policies([shipped_policies_path()]) if p.name == "plan-fit"]
    unread = IncompletePart("projects", "HTTP 503", org_id="org-a")
    world = snapshot(organizations=[organization("org-a", plan="scale")], incomplete=[unread])
    assert evaluate(policies, world, now=NOW) == []
    world.incomplete.clear()
    assert [f.resource_id for f in evaluate(policies, world, now=NOW)] == ["org-a"]


def test_a_branch_created_at_without_a_time_zone_counts_as_utc_instead_of_failing() -> None:
    zoneless = (NOW - 2 * DAY).strftime("%Y-%m-%dT%H:%M:%S")
    world = snapshot(branches=[branch("b1", created_at=zoneless), branch("b2")])
    view = SnapshotIndex(world).view("project", "p1")
    assert view is not None
    assert view.values["branches_created_30d"] == 1
