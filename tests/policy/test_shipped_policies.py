"""The four shipped policies select exactly what their definitions say.

Expected sets are computed here from the written definitions, compute by compute, without
the engine's derived fields, over many generated snapshots and a few named edge cases.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from governor.model.snapshot import Snapshot
from governor.policy import Policy, evaluate, load_policies, shipped_policies_path
from tests.policy.builders import DAY, NOW, Generator, branch, endpoint, key, snapshot, stamp

SEEDS = range(25)


@pytest.fixture(scope="module")
def shipped() -> dict[str, Policy]:
    return {policy.name: policy for policy in load_policies([shipped_policies_path()])}


def _time(text: object) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


def _older(text: object, days: int) -> bool:
    moment = _time(text)
    return moment is not None and NOW - moment > timedelta(days=days)


def expected_stale_branches(world: Snapshot) -> set[str]:
    parents = {item.raw.get("parent_id") for item in world.branches}
    selected = set()
    for item in world.branches:
        raw = item.raw
        if raw.get("default") is not False or raw.get("protected") is not False:
            continue
        if not raw.get("parent_id"):
            continue  # a root: Neon refuses to delete it
        if item.id in parents:
            continue
        computes = [compute for compute in world.endpoints if compute.branch_id == item.id]
        if computes:
            every_compute_idle = True
            for compute in computes:
                moments = [
                    _time(compute.raw.get(name))
                    for name in ("last_active", "started_at", "suspended_at")
                    if compute.raw.get(name)
                ]
                if not moments or NOW - max(m for m in moments if m) <= timedelta(days=30):
                    every_compute_idle = False
            if every_compute_idle:
                selected.add(item.id)
        elif _older(raw.get("created_at"), 30) and _older(raw.get("updated_at"), 30):
            selected.add(item.id)
    return selected


def expected_never_suspending(world: Snapshot) -> set[str]:
    return {item.id for item in world.endpoints if item.raw.get("suspend_timeout_seconds") == -1}


def _lowest_min_keeping(max_cu: float) -> float | None:
    """Neon's rules restated: the lowest autoscaling minimum a ``max_cu`` maximum allows."""
    if max_cu > 16:
        return None  # autoscaling stops at 16 CU: only fixed sizes above
    bound = max(0.25, max_cu - 8, max_cu / 8 if max_cu > 10 else 0)  # 8 CU range; max/8
    sizes = [0.25, 0.5, *range(1, 17)]
    lowest = min(size for size in sizes if size >= bound)
    return lowest if lowest < max_cu else None


def expected_oversized(world: Snapshot) -> set[str]:
    selected = set()
    for item in world.endpoints:
        low, high = item.raw["autoscaling_limit_min_cu"], item.raw["autoscaling_limit_max_cu"]
        lowest = _lowest_min_keeping(high)
        if low >= 8 and lowest is not None and lowest < low:
            selected.add(item.id)
    return selected


def expected_unused_keys(world: Snapshot) -> set[str]:
    selected = set()
    for record in world.api_keys:
        raw = record.key.raw
        never_used = raw.get("last_used_at") is None
        if (never_used and _older(raw.get("created_at"), 90)) or _older(
            raw.get("last_used_at"), 90
        ):
            selected.add(str(record.key.id))
    return selected


EXPECTATIONS = {
    "stale-branches": expected_stale_branches,
    "never-suspending-computes": expected_never_suspending,
    "oversized-computes": expected_oversized,
    "unused-api-keys": expected_unused_keys,
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_shipped_policy_selects_exactly_its_definition(
    shipped: dict[str, Policy], name: str, seed: int
) -> None:
    world = Generator(seed).snapshot()
    found = {finding.resource_id for finding in evaluate([shipped[name]], world, now=NOW)}
    assert found == EXPECTATIONS[name](world)


def test_generated_snapshots_reach_every_outcome(shipped: dict[str, Policy]) -> None:
    """Guards the generator: each policy both selects and skips resources across seeds."""
    for name, expected in EXPECTATIONS.items():
        counts = [len(expected(Generator(seed).snapshot())) for seed in SEEDS]
        assert sum(counts) > 20, name
    world = Generator(0).snapshot()
    assert len(evaluate(list(shipped.values()), world, now=NOW)) < (
        len(world.branches) + 2 * len(world.endpoints) + len(world.api_keys)
    )


def _stale(shipped: dict[str, Policy], world: Snapshot) -> set[str]:
    return {f.resource_id for f in evaluate([shipped["stale-branches"]], world, now=NOW)}


def test_stale_branch_idle_exactly_30_days_is_not_selected(shipped: dict[str, Policy]) -> None:
    world = snapshot(
        branches=[branch("br-exact", parent_id="root"), branch("br-over", parent_id="root")],
        endpoints=[
            endpoint("ep-1", "br-exact", last_active=stamp(30 * DAY)),
            endpoint("ep-2", "br-over", last_active=stamp(30 * DAY + timedelta(seconds=1))),
        ],
    )
    assert _stale(shipped, world) == {"br-over"}


def test_stale_branch_needs_every_compute_idle(shipped: dict[str, Policy]) -> None:
    world = snapshot(
        branches=[branch("br-1")],
        endpoints=[
            endpoint("ep-old", "br-1", last_active=stamp(90 * DAY)),
            endpoint("ep-new", "br-1", suspended_at=stamp(2 * DAY), last_active=stamp(60 * DAY)),
        ],
    )
    assert _stale(shipped, world) == set()


def test_stale_branch_with_a_compute_without_timestamps_is_not_selected(
    shipped: dict[str, Policy],
) -> None:
    world = snapshot(
        branches=[branch("br-blank"), branch("br-mixed")],
        endpoints=[
            endpoint("ep-1", "br-blank"),
            endpoint("ep-2", "br-mixed", started_at=stamp(100 * DAY)),
            endpoint("ep-3", "br-mixed"),
        ],
    )
    assert _stale(shipped, world) == set()


def test_stale_branch_without_compute_uses_created_and_updated(
    shipped: dict[str, Policy],
) -> None:
    world = snapshot(
        branches=[
            branch("br-old", parent_id="root"),
            branch("br-recently-updated", parent_id="root", updated_at=stamp(3 * DAY)),
            branch("br-recently-created", parent_id="root", created_at=stamp(30 * DAY)),
            branch("br-no-dates", parent_id="root", created_at=..., updated_at=...),
        ]
    )
    assert _stale(shipped, world) == {"br-old"}


def test_a_stale_root_branch_that_is_not_default_is_not_selected(
    shipped: dict[str, Policy],
) -> None:
    world = snapshot(branches=[branch("br-root"), branch("br-child", parent_id="br-other")])
    assert _stale(shipped, world) == {"br-child"}  # Neon refuses to delete a root


def test_stale_branch_skips_default_protected_and_parents(shipped: dict[str, Policy]) -> None:
    world = snapshot(
        branches=[
            branch("br-main", default=True),
            branch("br-protected", protected=True),
            branch("br-parent"),
            branch("br-child", parent_id="br-parent"),
            branch("br-unknown-protection", protected=...),
        ]
    )
    assert _stale(shipped, world) == {"br-child"}


def test_unused_keys_cover_every_scope_and_null_last_used(shipped: dict[str, Policy]) -> None:
    world = snapshot(
        api_keys=[
            key(1, "personal", last_used_at=None),
            key(2, "organization", "org-a", last_used_at=stamp(91 * DAY)),
            key(3, "project", "org-a", project_id="p1", last_used_at=stamp(100 * DAY)),
            key(4, "personal", last_used_at=None, created_at=stamp(90 * DAY)),
            key(5, "organization", "org-a", last_used_at=stamp(89 * DAY)),
            key(6, "personal", created_at=stamp(300 * DAY)),  # last_used_at missing entirely
        ]
    )
    findings = evaluate([shipped["unused-api-keys"]], world, now=NOW)
    assert {f.resource_id for f in findings} == {"1", "2", "3", "6"}
    assert {f.action.type for f in findings} == {"revoke"}


def test_oversized_compute_resize_keeps_its_current_maximum(shipped: dict[str, Policy]) -> None:
    world = snapshot(
        branches=[branch("br-1")],
        endpoints=[
            endpoint("ep-big", "br-1", autoscaling_limit_min_cu=16, autoscaling_limit_max_cu=16),
            endpoint("ep-small", "br-1", autoscaling_limit_min_cu=7.75),
        ],
    )
    [finding] = evaluate([shipped["oversized-computes"]], world, now=NOW)
    assert finding.resource_id == "ep-big"
    assert finding.action.as_json() == {"type": "resize", "min_cu": 0.25, "max_cu": 16.0}


def test_oversized_computes_skips_a_compute_whose_floor_cannot_drop_with_its_maximum_kept(
    shipped: dict[str, Policy],
) -> None:
    world = snapshot(
        branches=[branch("br-1")],
        endpoints=[
            # 8-16 CU: Neon's 8 CU range makes 8 CU the lowest minimum with a 16 CU maximum
            endpoint(
                "ep-at-floor", "br-1", autoscaling_limit_min_cu=8, autoscaling_limit_max_cu=16
            ),
            # a fixed 20 CU: autoscaling stops at 16 CU, so no lower floor keeps the maximum
            endpoint("ep-fixed", "br-1", autoscaling_limit_min_cu=20, autoscaling_limit_max_cu=20),
            endpoint("ep-8", "br-1", autoscaling_limit_min_cu=8, autoscaling_limit_max_cu=8),
        ],
    )
    findings = evaluate([shipped["oversized-computes"]], world, now=NOW)
    assert [finding.resource_id for finding in findings] == ["ep-8"]


def test_never_suspending_compute_gets_default_autosuspend(shipped: dict[str, Policy]) -> None:
    world = snapshot(
        branches=[branch("br-1")],
        endpoints=[
            endpoint("ep-always-on", "br-1", suspend_timeout_seconds=-1),
            endpoint("ep-default", "br-1", suspend_timeout_seconds=0),
        ],
    )
    [finding] = evaluate([shipped["never-suspending-computes"]], world, now=NOW)
    assert finding.resource_id == "ep-always-on"
    assert finding.action.as_json() == {"type": "set_autosuspend", "seconds": 300}
    assert finding.summary.startswith("never suspends")


def test_shipped_policies_only_report(shipped: dict[str, Policy]) -> None:
    assert {policy.mode for policy in shipped.values()} == {"report"}
    assert all(policy.description for policy in shipped.values())
