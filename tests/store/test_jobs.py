"""job_runs: one row per daemon job execution, ended once, the latest per job readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.store import Store, StoreError, history
from governor.store import jobs as job_runs
from governor.store.migrations import known_migration_names
from tests.store.factories import at


def test_a_job_run_starts_open_and_ends_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        run_id = store.call(history.start_run, "daemon", at(0))
        job_run = store.call(job_runs.start, "sweep:6h", scheduled_for=at(0), started_at=at(0.01))
        [open_row] = store.call(job_runs.latest_per_job)
        assert (open_row.id, open_row.outcome, open_row.finished_at) == (job_run, None, None)
        store.call(
            job_runs.end,
            job_run,
            finished_at=at(0.5),
            outcome="succeeded",
            run_id=run_id,
            detail="one\nline",
        )
        store.call(job_runs.end, job_run, finished_at=at(0.9), outcome="failed", detail="late")
        [ended] = store.call(job_runs.latest_per_job)
    assert ended.outcome == "succeeded"
    assert ended.run_id == run_id
    assert ended.detail == "one line"
    assert ended.scheduled_for == at(0).isoformat(timespec="microseconds")
    assert ended.finished_at == at(0.5).isoformat(timespec="microseconds")


def test_last_job_runs_gives_the_latest_row_of_each_job(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        for hour in range(3):
            row = store.call(
                job_runs.start, "sweep:1h", scheduled_for=at(hour), started_at=at(hour)
            )
            store.call(job_runs.end, row, finished_at=at(hour + 0.1), outcome="succeeded")
        store.call(job_runs.start, "sweep:0 6 * * *", scheduled_for=at(1), started_at=at(1))
        latest = {record.job: record for record in store.call(job_runs.latest_per_job)}
    assert sorted(latest) == ["sweep:0 6 * * *", "sweep:1h"]
    assert latest["sweep:1h"].scheduled_for == at(2).isoformat(timespec="microseconds")
    assert latest["sweep:0 6 * * *"].outcome is None


def test_unknown_outcomes_and_ids_are_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        row = store.call(job_runs.start, "j", scheduled_for=at(0), started_at=at(0))
        with pytest.raises(StoreError, match="outcome must be one of"):
            store.call(job_runs.end, row, finished_at=at(1), outcome="great")
        with pytest.raises(StoreError, match="no job run with id 999"):
            store.call(job_runs.end, 999, finished_at=at(1), outcome="failed")


def test_the_job_runs_migration_is_the_latest() -> None:
    assert "0005_job_runs" in known_migration_names()


@pytest.mark.anyio
async def test_job_runs_are_recorded_from_async_code(tmp_path: Path) -> None:
    async with await Store.open_async(tmp_path / "g.db") as store:
        row = await store.run(job_runs.start, "j", scheduled_for=at(0), started_at=at(0))
        await store.run(job_runs.end, row, finished_at=at(1), outcome="cancelled", detail="stop")
        [record] = await store.run(job_runs.latest_per_job)
    assert (record.job, record.outcome, record.detail) == ("j", "cancelled", "stop")
