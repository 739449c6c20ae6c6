"""Per-project lookups the issue 18 estimators share, built once per snapshot index.

Why a cache beside the index: a whole-project delete, the branches-over-allowance report and
the snapshot estimates each need a project's branches or snapshots; scanning every branch
for every finding is quadratic at 100,000 branches.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from weakref import WeakKeyDictionary

from governor.neon.models import Branch, ProjectSnapshot
from governor.policy.resources import SnapshotIndex

_OLDEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class _Lookups:
    branches: dict[str, list[Branch]] = field(default_factory=lambda: defaultdict(list))
    snapshots: dict[str, list[ProjectSnapshot]] = field(default_factory=lambda: defaultdict(list))
    snapshot_by_id: dict[str, ProjectSnapshot] = field(default_factory=dict)


_CACHE: WeakKeyDictionary[SnapshotIndex, _Lookups] = WeakKeyDictionary()


def _lookups(index: SnapshotIndex) -> _Lookups:
    found = _CACHE.get(index)
    if found is None:
        found = _Lookups()
        for branch in index.snapshot.branches:
            found.branches[branch.project_id].append(branch)
        for snapshot in index.snapshot.snapshots:
            found.snapshots[snapshot.project_id].append(snapshot)
            found.snapshot_by_id[snapshot.id] = snapshot
        _CACHE[index] = found
    return found


def project_branches(index: SnapshotIndex, project_id: str) -> list[Branch]:
    return list(_lookups(index).branches.get(project_id, []))


def child_branches(index: SnapshotIndex, project_id: str) -> list[Branch]:
    """The project's child branches, oldest first (ties by id): the ones stale-branch
    policies pick first, so the extra-branch fee is keyed on the branches most likely to go."""
    children = [branch for branch in project_branches(index, project_id) if branch.parent_id]
    return sorted(children, key=lambda branch: (_aware(branch.created_at), branch.id))


def project_snapshots(index: SnapshotIndex, project_id: str) -> list[ProjectSnapshot]:
    return list(_lookups(index).snapshots.get(project_id, []))


def snapshot_by_id(index: SnapshotIndex, snapshot_id: str) -> ProjectSnapshot | None:
    return _lookups(index).snapshot_by_id.get(snapshot_id)


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return _OLDEST
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def split(total: float, pieces: list[tuple[str, float]]) -> tuple[list[tuple[str, float]], float]:
    """``pieces`` scaled down (never up) so they fit in the measured ``total``, and the
    remainder of ``total`` they do not explain: a measured project total keyed per branch or
    snapshot where those are known, so a branch delete and a project delete share keys."""
    known = sum(amount for _, amount in pieces)
    scale = min(1.0, total / known) if known > 0 else 0.0
    scaled = [(key, amount * scale) for key, amount in pieces]
    return scaled, max(0.0, total - sum(amount for _, amount in scaled))
