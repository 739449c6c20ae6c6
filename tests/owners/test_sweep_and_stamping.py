"""Branch annotations survive the sweep (against the simulator over loopback), and every
finding an audit stores carries its resource's owner and the rule that named it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from governor.config.owners import OwnerContact, OwnerRule
from governor.neon.annotations import MAX_ANNOTATIONS, MAX_VALUE_CHARS
from governor.owners.facts import FactsIndex
from governor.owners.match import OwnerMap
from governor.pipeline.audit import run_audit
from governor.pipeline.stages import sweep_stage
from governor.policy import load_policies, shipped_policies_path
from governor.report.rows import finding_row
from governor.savings.prices import Prices
from governor.simulator import World
from governor.store import Store, history
from governor.store import resources as resource_rows
from governor.sweep import Account
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.pipeline.test_audit_stages import client
from tests.simulator.worlds import ORG_TOKEN, SECOND_PROJECT_ID, tiny_world_data

Serve = Callable[..., ServedSimulator]
SHIPPED = load_policies([shipped_policies_path()])


def annotated_world(**annotations: dict[str, Any]) -> World:
    """The tiny world with ``annotations`` (by branch id) set in the world file."""
    data = tiny_world_data()
    for org in data["organizations"]:
        for project in org["projects"]:
            for branch in project["branches"]:
                if branch["id"] in annotations:
                    branch["annotations"] = annotations[branch["id"]]
    return World.from_dict(data)


@pytest.mark.anyio
async def test_the_sweep_keeps_branch_annotations_from_the_branch_listing(
    served_simulator: Serve,
) -> None:
    world = annotated_world(**{"br-feature-1": {"vercel-commit-ref": "feat/login"}})
    _, base_url = served_simulator(world)
    async with client(base_url, ORG_TOKEN) as org_client:
        snapshot = await sweep_stage([Account("a", org_client)], clock=lambda: WORLD_NOW)
    assert snapshot.branch_annotations == {"br-feature-1": {"vercel-commit-ref": "feat/login"}}
    (feature,) = [branch for branch in snapshot.branches if branch.id == "br-feature-1"]
    assert "annotations" not in feature.raw  # the API object stays as Neon returns it
    assert feature.raw["creation_source"] == "console"
    # `inventory --format json` shows them, for whoever writes the rules
    assert snapshot.to_json()["branch_annotations"] == snapshot.branch_annotations


@pytest.mark.anyio
async def test_hostile_annotation_values_are_coerced_to_strings_and_bounded(
    served_simulator: Serve,
) -> None:
    hostile: dict[str, Any] = {f"k{i:03}": "v" for i in range(MAX_ANNOTATIONS + 20)}
    hostile.update({"a-number": 7, "a-flag": True, "nested": {"x": 1}, "null": None})
    hostile["a-huge"] = "x" * 100_000
    world = annotated_world(**{"br-main-1": hostile})
    _, base_url = served_simulator(world)
    async with client(base_url, ORG_TOKEN) as org_client:
        snapshot = await sweep_stage([Account("a", org_client)], clock=lambda: WORLD_NOW)
    kept = snapshot.branch_annotations["br-main-1"]
    assert len(kept) == MAX_ANNOTATIONS
    assert all(isinstance(value, str) for value in kept.values())
    assert all(len(value) <= MAX_VALUE_CHARS for value in kept.values())
    assert "nested" not in kept
    assert "null" not in kept


OWNERS = OwnerMap(
    [OwnerContact(name="vercel"), OwnerContact(name="data"), OwnerContact(name="platform")],
    [
        OwnerRule(owner="vercel", annotations={"vercel-commit-ref": "feat/*"}),
        OwnerRule(owner="data", projects=[SECOND_PROJECT_ID]),
    ],
    default="platform",
)


@pytest.mark.anyio
async def test_every_finding_an_audit_stores_is_stamped_with_its_owner_and_rule(
    served_simulator: Serve, tmp_path: Path
) -> None:
    world = annotated_world(**{"br-feature-1": {"vercel-commit-ref": "feat/login"}})
    _, base_url = served_simulator(world)
    async with (
        client(base_url, ORG_TOKEN) as org_client,
        await Store.open_async(tmp_path / "g.db") as store,
    ):
        result = await run_audit(
            accounts=[Account("a", org_client)],
            store=store,
            policies=SHIPPED,
            prices=Prices(),
            clock=lambda: WORLD_NOW,
            owners=OWNERS,
        )
        stored = await store.run(history.findings, "open")
    assert result.findings
    by_resource = {(f.resource_type, f.resource_id): (f.owned_by, f.owned_by_rule) for f in stored}
    assert by_resource[("branch", "br-feature-1")] == ("vercel", "rule 1")
    for (_, _), (owner, rule) in by_resource.items():
        assert (owner, rule) in {("vercel", "rule 1"), ("data", "rule 2"), ("platform", "default")}
    # what the run hands back is what the store reads
    assert {(f.id, f.owned_by) for f in result.findings} <= {(f.id, f.owned_by) for f in stored}
    # and the report's rows (JSON, CSV, webhook documents) say whose it is
    rows = {(row["resource_type"], row["resource_id"]): row for row in map(finding_row, stored)}
    assert rows[("branch", "br-feature-1")]["owned_by"] == "vercel"


@pytest.mark.anyio
async def test_an_audit_without_owners_stamps_none_and_a_later_owner_map_restamps(
    served_simulator: Serve, tmp_path: Path
) -> None:
    _, base_url = served_simulator(World.from_dict(tiny_world_data()))
    async with (
        client(base_url, ORG_TOKEN) as org_client,
        await Store.open_async(tmp_path / "g.db") as store,
    ):
        audit = {
            "accounts": [Account("a", org_client)],
            "store": store,
            "policies": SHIPPED,
            "prices": Prices(),
            "clock": lambda: WORLD_NOW,
        }
        await run_audit(**audit)
        unowned = await store.run(history.findings, "open")
        await run_audit(**audit, owners=OwnerMap([OwnerContact(name="ops")], default="ops"))
        owned = await store.run(history.findings, "open")
    assert unowned
    assert {(f.owned_by, f.owned_by_rule) for f in unowned} == {(None, "none")}
    assert {(f.owned_by, f.owned_by_rule) for f in owned} == {("ops", "default")}


def _matchable(facts: Any) -> tuple[Any, ...]:
    """What rules match on (names for reports may differ: the finding supplies them)."""
    return (
        facts.org_id,
        facts.project_id,
        facts.project_name,
        facts.branch_name,
        dict(facts.annotations),
        facts.creation_source,
        facts.key_creator,
    )


@pytest.mark.anyio
async def test_facts_from_the_store_match_facts_from_the_sweep_for_every_resource(
    served_simulator: Serve, tmp_path: Path
) -> None:
    """The owners command (store) must say what the audit (sweep) stamped."""
    world = annotated_world(**{"br-feature-1": {"vercel-commit-ref": "feat/login"}})
    _, base_url = served_simulator(world)
    async with (
        client(base_url, ORG_TOKEN) as org_client,
        await Store.open_async(tmp_path / "g.db") as store,
    ):
        await run_audit(
            accounts=[Account("a", org_client)],
            store=store,
            policies=SHIPPED,
            prices=Prices(),
            clock=lambda: WORLD_NOW,
        )
        snapshot = await sweep_stage([Account("a", org_client)], clock=lambda: WORLD_NOW)
        stored = await store.run(resource_rows.listed)
    swept, kept = FactsIndex.of_snapshot(snapshot), FactsIndex.of_resources(stored)
    resources = [(facts.resource_type, facts.resource_id) for facts in kept.every()]
    assert ("branch", "br-feature-1") in resources
    assert ("api_key", "2001") in resources
    for resource_type, resource_id in resources:
        assert _matchable(kept.facts(resource_type, resource_id)) == _matchable(
            swept.facts(resource_type, resource_id)
        ), (resource_type, resource_id)
    feature = kept.facts("branch", "br-feature-1")
    assert feature.annotations == {"vercel-commit-ref": "feat/login"}
    assert feature.creation_source == "console"
    key = kept.facts("api_key", "2001")
    assert key.key_creator == "0c9d9e9f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"  # created_by.id
    endpoint = kept.facts("endpoint", "ep-preview-1")
    assert endpoint.branch_name == "preview/pr-7"  # a compute is owned through its branch
