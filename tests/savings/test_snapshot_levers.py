"""Snapshot deletes and backup-schedule retention: each figure worked out by hand
(GB = 10^9 bytes; 730/744 = 0.981183 of a GB-month; snapshots $0.09/GB-month)."""

from __future__ import annotations

from governor.model.findings import CostPart
from governor.model.snapshot import IncompletePart
from tests.savings.levers_world import GB, branch, estimate_of, finding, root, snapshot_of, world

DELETE = finding("snapshot", "snap-1", {"type": "delete_snapshot"})
RETENTION = finding("branch", "br-root", {"type": "set_backup_retention", "retention": "14d"})


def test_deleting_a_manual_snapshot_saves_its_full_size() -> None:
    snapshot = world(snapshots=[snapshot_of("snap-1", days_old=40, manual=True, full_size=20 * GB)])
    result = estimate_of(DELETE, snapshot)
    # 20 GB x 730/744 x $0.09 = 1.76613 -> 1.77
    assert (result.monthly_usd, result.kind) == (1.77, "estimated")
    assert result.parts == (CostPart("snapshot:snap-1", 1.77),)


def test_deleting_a_scheduled_snapshot_saves_its_diff_not_its_full_size() -> None:
    taken = snapshot_of("snap-1", days_old=40, manual=False, full_size=30 * GB, diff_size=5 * GB)
    result = estimate_of(DELETE, world(snapshots=[taken]))
    # 5 GB x 730/744 x $0.09 = 0.44153 -> 0.44
    assert result.monthly_usd == 0.44
    assert "may not free its diff (unverified)" in result.method


def test_a_snapshot_neon_does_not_charge_saves_nothing_and_says_why() -> None:
    taken = snapshot_of("snap-1", days_old=40, manual=True, full_size=0)
    result = estimate_of(DELETE, world(snapshots=[taken]))
    assert result.monthly_usd == 0.0
    assert "full_size is 0, so Neon does not charge it" in result.method


def test_a_backup_retention_prices_the_scheduled_snapshots_older_than_it() -> None:
    snapshots = [
        snapshot_of("old", days_old=20, manual=False, full_size=10 * GB, diff_size=2 * GB,
                    source_branch_id="br-root"),
        snapshot_of("new", days_old=3, manual=False, full_size=10 * GB, diff_size=GB,
                    source_branch_id="br-root"),
        snapshot_of("hand", days_old=40, manual=True, full_size=10 * GB,
                    source_branch_id="br-root"),
        snapshot_of("other", days_old=40, manual=False, full_size=10 * GB,
                    source_branch_id="br-2"),
    ]  # fmt: skip
    result = estimate_of(RETENTION, world(branches=[root(), branch("br-2")], snapshots=snapshots))
    # only "old" (scheduled, this branch, 20 > 14 days): 2 GB x 0.981183 x 0.09 = 0.17661 -> 0.18
    assert result.monthly_usd == 0.18
    assert result.parts == (CostPart("snapshot:old", 0.18),)
    assert "precision C" in result.method


def test_a_backup_retention_without_the_snapshot_list_claims_nothing() -> None:
    unread = IncompletePart("snapshots", "timed out", org_id="org-a", project_id="pr-1")
    result = estimate_of(RETENTION, world(incomplete=[unread]))
    assert result.monthly_usd == 0.0
    assert "snapshot list was not read" in result.method
