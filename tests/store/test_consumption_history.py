"""The estimates' ``Usage`` from the store: the same answers as from the rows themselves,
work that does not grow with the history kept, and a batch of projects at a time."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from governor.model.consumption import (
    CHILD_BRANCH_BYTES_MONTH,
    COMPUTE_UNIT_SECONDS,
    EXTRA_BRANCHES_MONTH,
    INSTANT_RESTORE_BYTES_MONTH,
    ROOT_BRANCH_BYTES_MONTH,
    SNAPSHOT_STORAGE_BYTES_MONTH,
    Bucket,
)
from governor.savings.usage import Usage
from governor.store import Store
from governor.store import consumption as meters

NOW = datetime(2026, 12, 10, 12, 30, tzinfo=UTC)
HOUR = NOW.replace(minute=0)
MIDNIGHT = NOW.replace(hour=0, minute=0)
PROJECTS = {"pr-1": ("br-1a", "br-1b"), "pr-2": ("br-2a",)}
WINDOW_HOURS = 170  # a little beyond the estimates' 168 h: rows at the edges too
WINDOW_DAYS = 32
STORAGE = (ROOT_BRANCH_BYTES_MONTH, CHILD_BRANCH_BYTES_MONTH, INSTANT_RESTORE_BYTES_MONTH)


def _row(
    owner: tuple[str, str | None], kind: str, start: datetime, metric: str, value: float
) -> Bucket:
    project, branch = owner
    length = timedelta(hours=1) if kind == "hourly" else timedelta(days=1)
    period = "p-nov" if start.month == 11 else "p-dec"
    return Bucket(
        "org-1", project, branch, kind, start, start + length, period, "scale", metric,  # type: ignore[arg-type]
        value,
    )  # fmt: skip


def meters_of(hours: range, days: range) -> list[Bucket]:
    """Project and branch rows ``hours`` hours and ``days`` days back (values vary with the
    hour, so floors, netting and sums are all exercised; one hour split across periods)."""
    found: list[Bucket] = []
    for project, branches in PROJECTS.items():
        for back in hours:
            start = HOUR - timedelta(hours=back)
            found += [
                _row((project, None), "hourly", start, COMPUTE_UNIT_SECONDS, 900.0 * (back % 3)),
                _row((project, None), "hourly", start, ROOT_BRANCH_BYTES_MONTH, 2e9 + back),
                _row((project, None), "hourly", start, EXTRA_BRANCHES_MONTH, float(back % 12)),
                _row((project, None), "hourly", start, SNAPSHOT_STORAGE_BYTES_MONTH, 1e8),
            ]
            for index, branch in enumerate(branches):
                compute = 900.0 if (back + index) % 2 else 3600.0 * (back % 4)
                found += [
                    _row((project, branch), "hourly", start, COMPUTE_UNIT_SECONDS, compute),
                    _row((project, branch), "hourly", start, CHILD_BRANCH_BYTES_MONTH, 5e6 + back),
                ]
        split = HOUR - timedelta(hours=30)
        found.append(
            Bucket(
                "org-1",
                project,
                None,
                "hourly",
                split,
                split + timedelta(hours=1),
                "p-other",
                "launch",
                COMPUTE_UNIT_SECONDS,
                450.0,
            )
        )
        for back in days:
            start = MIDNIGHT - timedelta(days=back)
            found += [
                _row((project, None), "daily", start, metric, 24 * (3e9 + back))
                for metric in (*STORAGE, COMPUTE_UNIT_SECONDS)
            ]
            found += [
                _row((project, branch), "daily", start, CHILD_BRANCH_BYTES_MONTH, 24 * 7e6)
                for branch in branches[:1]
            ]
    return found


def in_window() -> list[Bucket]:
    return meters_of(range(-1, WINDOW_HOURS), range(-1, WINDOW_DAYS))


def older(days: int) -> list[Bucket]:
    """History the store kept from before the windows: ``days`` more days of both."""
    return meters_of(
        range(WINDOW_HOURS, WINDOW_HOURS + 24 * days), range(WINDOW_DAYS, WINDOW_DAYS + days)
    )


def answers(usage: Usage) -> list[Any]:
    """Every answer the estimates can ask of ``usage`` about these projects and branches."""
    usage.storage_units = {"org-1": "byte_hours"}
    found: list[Any] = []
    for project, branches in [*PROJECTS.items(), ("pr-none", ("br-none",))]:
        found += [
            usage.project_read(project),
            usage.project_cu_hours(project),
            [usage.project_storage(project, metric) for metric in STORAGE],
            usage.project_storage(project, SNAPSHOT_STORAGE_BYTES_MONTH),
            [usage.extra_branch_months(project, allowance) for allowance in (0, 3, 9)],
        ]
        for branch in branches:
            found += [
                [usage.floor_hours(branch, floor) for floor in (0.25, 1.0)],
                usage.child_storage(branch),
            ]
    return found


def counted(
    work: Callable[[sqlite3.Connection], Any],
) -> Callable[[sqlite3.Connection], tuple[Any, int]]:
    """``work`` with SQLite's work counted: virtual machine steps, by the thousand."""

    def run(connection: sqlite3.Connection) -> tuple[Any, int]:
        steps = [0]

        def tick() -> int:
            steps[0] += 1
            return 0

        connection.set_progress_handler(tick, 1000)
        try:
            return work(connection), steps[0]
        finally:
            connection.set_progress_handler(None, 0)

    return run


def test_the_stores_usage_answers_as_the_usage_built_from_its_rows(tmp_path: Path) -> None:
    """The store sums in SQL what ``Usage`` sums from rows: every answer is the same."""
    rows = in_window() + older(3)
    with Store.open(tmp_path / "g.db") as store:
        store.call(meters.write_buckets, rows, NOW)
        from_store = store.call(meters.usage_for, NOW)
    from_rows = Usage(rows, NOW)
    assert answers(from_store) == answers(from_rows)
    assert answers(from_rows)[1] is not None  # the figures compared are real ones


def test_usage_for_does_the_same_work_whatever_history_is_kept(tmp_path: Path) -> None:
    """Before: ``usage_for`` read rows without naming an organization, so SQLite scanned
    every row kept, and 30 days of history cost 30 days of reading."""
    results = {}
    for days in (1, 30):
        with Store.open(tmp_path / f"kept-{days}.db") as store:
            store.call(meters.write_buckets, in_window() + older(days), NOW)
            results[days] = store.call(counted(lambda c: answers(meters.usage_for(c, NOW))))
    assert results[30][0] == results[1][0]
    assert results[30][1] == results[1][1]


def test_usage_for_a_batch_of_projects_holds_only_their_meters(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        store.call(meters.write_buckets, in_window() + older(30), NOW)
        whole, whole_steps = store.call(counted(lambda c: meters.usage_for(c, NOW)))
        batch, batch_steps = store.call(
            counted(lambda c: meters.usage_for(c, NOW, project_ids=["pr-1"]))
        )
    assert batch.project_read("pr-1")
    assert not batch.project_read("pr-2")
    assert batch.floor_hours("br-2a", 0.25) is None
    assert batch.child_storage("br-2a") is None
    assert answers(batch)[:9] == answers(whole)[:9]  # pr-1 and its two branches
    assert batch_steps < whole_steps


def test_usage_for_project_rows_only_leaves_the_branches_out(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        store.call(meters.write_buckets, in_window(), NOW)
        projects_only = store.call(meters.usage_for, NOW, branches=False)
        whole = store.call(meters.usage_for, NOW)
    assert projects_only.floor_hours("br-1a", 0.25) is None
    assert projects_only.project_cu_hours("pr-1") == whole.project_cu_hours("pr-1")
    assert projects_only.extra_branch_months("pr-2", 3) == whole.extra_branch_months("pr-2", 3)


def test_a_re_write_of_unchanged_rows_changes_nothing(tmp_path: Path) -> None:
    """Before: every re-read rewrote every row it carried, so each audit's writes were the
    whole 168-hour window, not what changed."""
    rows = in_window()
    changed = [replace(row, value=row.value + 1) for row in rows[:5]]
    later = NOW + timedelta(minutes=20)
    with Store.open(tmp_path / "g.db") as store:
        first = store.call(meters.write_buckets, rows, NOW)
        again = store.call(meters.write_buckets, rows, later)
        revised = store.call(meters.write_buckets, changed, later)
        rewritten = store.call(
            lambda c: c.execute(
                "SELECT count(*) FROM consumption_buckets WHERE read_at = ?",
                [later.isoformat(timespec="microseconds")],
            ).fetchone()[0]
        )
        values = store.call(
            meters.buckets, granularity="hourly", start=rows[0].start, end=rows[0].end
        )
    assert first == len(rows)
    assert again == 0
    assert revised == 5
    assert rewritten == 5
    assert changed[0].value in [row.value for row in values]


def test_a_projects_branch_rows_are_read_without_reading_its_history(tmp_path: Path) -> None:
    """Before: realized savings' series (``buckets(project_id=..., branch_id="any")``) read
    every branch row the project ever kept to find the window's."""
    results = {}
    for days in (1, 30):
        with Store.open(tmp_path / f"kept-{days}.db") as store:
            store.call(meters.write_buckets, in_window() + older(days), NOW)
            results[days] = store.call(
                counted(
                    lambda c: meters.buckets(
                        c,
                        project_id="pr-1",
                        branch_id="any",
                        granularity="hourly",
                        start=NOW - timedelta(days=2),
                        end=NOW,
                    )
                )
            )
    assert results[30][0] == results[1][0]
    assert {row.branch_id for row in results[1][0]} == {"br-1a", "br-1b"}
    assert results[30][1] == results[1][1]


def test_a_batch_given_the_storage_units_does_not_calibrate_again(tmp_path: Path) -> None:
    """A caller asking for many batches calibrates once: with ``units`` given, usage_for
    reads no calibration rows (before, each batch re-read every project's daily root rows)."""
    with Store.open(tmp_path / "g.db") as store:
        store.call(meters.write_buckets, in_window(), NOW)
        units = store.call(meters.storage_units, NOW, {})
        given, given_steps = store.call(
            counted(lambda c: meters.usage_for(c, NOW, project_ids=["pr-1"], units=units))
        )
        own, own_steps = store.call(
            counted(lambda c: meters.usage_for(c, NOW, {}, project_ids=["pr-1"]))
        )
    assert given.storage_units == own.storage_units == units
    assert answers(given) == answers(own)
    assert given_steps < own_steps
