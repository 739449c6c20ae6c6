"""consumption_buckets and consumption_reads: Neon's meters kept past its lookback, and
each read recorded so "not read" is never taken for "zero"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from governor.model.consumption import COMPUTE_UNIT_SECONDS, ROOT_BRANCH_BYTES_MONTH, Bucket
from governor.model.snapshot import Snapshot
from governor.neon.models import Branch, Organization, Project
from governor.store import Store, StoreError, history
from governor.store import consumption as meters

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def bucket(
    hour: int,
    value: float,
    *,
    project: str = "pr-1",
    branch: str | None = None,
    period: str | None = "p-1",
    metric: str = COMPUTE_UNIT_SECONDS,
) -> Bucket:
    start = T0 + timedelta(hours=hour)
    return Bucket(
        "org-1", project, branch, "hourly", start, start + timedelta(hours=1), period, "scale",
        metric, value,
    )  # fmt: skip


def test_a_re_read_replaces_each_bucket_instead_of_adding_to_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        store.call(meters.write_buckets, [bucket(0, 3600), bucket(1, 7200)], T0)
        store.call(
            meters.write_buckets, [bucket(0, 3700), bucket(1, 7200)], T0 + timedelta(hours=2)
        )
        found = store.call(
            meters.buckets, granularity="hourly", start=T0, end=T0 + timedelta(days=1)
        )
    assert [row.value for row in found] == [3700, 7200]


def test_a_bucket_split_across_two_periods_is_kept_as_two_rows(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        store.call(
            meters.write_buckets, [bucket(0, 10, period="p-1"), bucket(0, 20, period="p-2")], T0
        )
        found = store.call(
            meters.buckets, granularity="hourly", start=T0, end=T0 + timedelta(hours=1)
        )
    assert sorted((row.period_id, row.value) for row in found) == [("p-1", 10), ("p-2", 20)]


def test_project_rows_and_branch_rows_are_read_apart(tmp_path: Path) -> None:
    end = T0 + timedelta(hours=1)
    with Store.open(tmp_path / "g.db") as store:
        store.call(meters.write_buckets, [bucket(0, 10), bucket(0, 4, branch="br-1")], T0)
        projects = store.call(meters.buckets, granularity="hourly", start=T0, end=end)
        branches = store.call(
            meters.buckets, branch_id="any", granularity="hourly", start=T0, end=end
        )
        one = store.call(meters.buckets, branch_id="br-1", granularity="hourly", start=T0, end=end)
    assert [(row.branch_id, row.value) for row in projects] == [(None, 10)]
    assert [(row.branch_id, row.value) for row in branches] == [("br-1", 4)]
    assert one == branches


def test_a_refused_read_is_recorded_so_it_is_not_taken_for_zero(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        store.call(
            meters.record_read,
            org_id="org-free",
            scope="projects",
            granularity="daily",
            start=T0,
            end=T0 + timedelta(days=1),
            read_at=T0 + timedelta(days=1),
            outcome="refused",
            message="HTTP 403:\nthe plan does not qualify",
        )
        [read] = store.call(meters.reads, org_id="org-free")
        assert store.call(meters.reads, org_id="org-other") == []
    assert (read.outcome, read.message, read.rows) == (
        "refused",
        "HTTP 403: the plan does not qualify",
        0,
    )
    assert read.end - read.start == timedelta(days=1)


def test_an_unknown_outcome_is_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store, pytest.raises(StoreError, match="outcome"):
        store.call(
            meters.record_read, org_id="o", scope="projects", granularity="daily", start=T0,
            end=T0, read_at=T0, outcome="maybe",  # type: ignore[arg-type]
        )  # fmt: skip


def test_series_older_than_keep_age_out_and_newer_ones_stay(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        store.call(meters.write_buckets, [bucket(0, 1), bucket(48, 2)], T0)
        dropped = store.call(meters.forget_before, T0 + timedelta(days=1))
        found = store.call(
            meters.buckets, granularity="hourly", start=T0, end=T0 + timedelta(days=3)
        )
    assert dropped == 1
    assert [row.value for row in found] == [2]


def _swept(store: Store, sizes: dict[str, tuple[str | None, int]]) -> None:
    """A sweep kept in the store: org-1's project pr-1 with ``sizes`` (branch: parent, size)."""
    seen = Snapshot(
        taken_at=T0,
        organizations=[Organization.from_api({"id": "org-1", "name": "org-1"})],
        projects=[Project.from_api({"id": "pr-1", "name": "pr-1", "org_id": "org-1"})],
        branches=[
            Branch.from_api(
                {
                    "id": branch,
                    "project_id": "pr-1",
                    "name": branch,
                    "parent_id": parent,
                    "logical_size": size,
                }
            )
            for branch, (parent, size) in sizes.items()
        ],
        org_ids=["org-1"],
    )
    store.call(history.record_snapshot, store.call(history.start_run, "audit", T0), seen, T0)


def _daily_root(value: float) -> Bucket:
    day = T0 - timedelta(days=1)
    return Bucket(
        "org-1", "pr-1", None, "daily", day, T0, "p", "scale", ROOT_BRANCH_BYTES_MONTH, value
    )


def test_the_storage_unit_is_calibrated_from_the_kept_sweeps_root_branch(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        _swept(store, {"br-root": (None, 31_000_000), "br-child": ("br-root", 5)})
        store.call(meters.write_buckets, [_daily_root(31_000_000 * 24)], T0)
        found = store.call(meters.calibrations, T0 + timedelta(hours=1))
    assert found["org-1"].unit == "byte_hours"


def test_a_project_with_two_root_branches_does_not_calibrate(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        _swept(store, {"br-a": (None, 31_000_000), "br-b": (None, 31_000_000)})
        store.call(meters.write_buckets, [_daily_root(31_000_000 * 24)], T0)
        found = store.call(meters.calibrations, T0 + timedelta(hours=1))
    assert found["org-1"].unit is None


def test_usage_for_gives_the_estimates_each_branchs_hourly_meters(tmp_path: Path) -> None:
    now = T0 + timedelta(days=2)
    with Store.open(tmp_path / "g.db") as store:
        _swept(store, {"br-root": (None, 31_000_000)})
        rows = [bucket(hour, 0.25 * 3600, branch="br-1") for hour in range(24, 48)]
        store.call(meters.write_buckets, rows, now)
        usage = store.call(meters.usage_for, now)
    floor = usage.floor_hours("br-1", 0.25)
    assert floor is not None
    assert floor.floor_hours == 24
    assert usage.floor_hours("br-never-read", 0.25) is None
