"""Realized savings in the store: the baseline kept at success, then each measurement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from governor.costs.realized import Measurement, Scope
from governor.model.changes import Change
from governor.model.consumption import COMPUTE_UNIT_SECONDS, ROOT_BRANCH_BYTES_MONTH, Bucket
from governor.savings.prices import Prices
from governor.store import Store, consumption, history, realized, remediations
from governor.store.remediations import NewRemediation, RemediationRecord
from tests.store.factories import ORG, endpoint, snapshot

CHANGED = datetime(2026, 11, 16, 10, 30, tzinfo=UTC)
DAY = timedelta(days=1)


def new(resource_type: str, resource_id: str, change: str) -> NewRemediation:
    return NewRemediation(
        account="default",
        policy="never-suspending-computes",
        mode="auto",
        findings=[],
        resource_type=resource_type,
        resource_id=resource_id,
        org_id=ORG,
        project_id="pr-1",
        resource_name=resource_id,
        change=Change(change),
        before={},
        after={},
        disruptive=False,
        irreversible=False,
        why="never suspends",
        estimate_usd=60.0,
        state="planned",
    )


def succeeded(store: Store, resource_type: str, resource_id: str, change: str) -> RemediationRecord:
    record, _ = store.call(remediations.add, new(resource_type, resource_id, change), now=CHANGED)
    store.call(remediations.move, record.id, expected=["planned"], to="executing", now=CHANGED)
    moved = store.call(
        remediations.move, record.id, expected=["executing"], to="succeeded", now=CHANGED
    )
    assert moved is not None
    return moved


def daily(day: datetime, metric: str, value: float, branch: str | None = None) -> Bucket:
    return Bucket(ORG, "pr-1", branch, "daily", day, day + DAY, None, "launch", metric, value)


def seed(store: Store) -> None:
    """The endpoint on br-main and 14 days of meters before the change."""
    swept = snapshot(projects=[("pr-1", ORG)], branches=[("br-main", "pr-1")])
    swept.endpoints.append(endpoint("ep-1", "br-main"))
    run_id = store.call(history.start_run, "audit", CHANGED - 15 * DAY)
    store.call(history.record_snapshot, run_id, swept, CHANGED - 15 * DAY)
    rows = []
    for n in range(1, 15):
        day = datetime(2026, 11, 16, tzinfo=UTC) - n * DAY
        rows += [
            daily(day, COMPUTE_UNIT_SECONDS, 30 * 3600.0),
            daily(day, ROOT_BRANCH_BYTES_MONTH, 1e9),
            daily(day, COMPUTE_UNIT_SECONDS, 24 * 3600.0, "br-main"),
            daily(day, COMPUTE_UNIT_SECONDS, 6 * 3600.0, "br-dev"),
        ]
    store.call(consumption.write_buckets, rows, CHANGED)


def test_a_succeeded_compute_change_keeps_its_estimate_scope_and_baseline(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "g.db") as store:
        seed(store)
        record = succeeded(store, "endpoint", "ep-1", "update_endpoint")
        kept = store.call(realized.keep_baseline, record, now=CHANGED)
        assert kept is not None
        assert kept.scope == Scope(ORG, "pr-1", "br-main")
        assert kept.estimate_usd == 60.0
        assert kept.status == "waiting"
        assert kept.baseline is not None
        assert kept.baseline.days == 14
        assert kept.baseline.scope[COMPUTE_UNIT_SECONDS] == 24 * 3600.0
        assert kept.baseline.control == {  # the rest of the project, branch by branch
            "br-dev": {
                COMPUTE_UNIT_SECONDS: 6 * 3600.0,
                ROOT_BRANCH_BYTES_MONTH: 0.0,
                "child_branch_bytes_month": 0.0,
                "instant_restore_bytes_month": 0.0,
            }
        }
        # the series may age out of the store: the kept baseline stays
        store.call(consumption.forget_before, CHANGED + 30 * DAY)
        assert store.call(realized.get, record.id) == kept


def test_keeping_twice_keeps_the_first_baseline(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        seed(store)
        record = succeeded(store, "endpoint", "ep-1", "update_endpoint")
        first = store.call(realized.keep_baseline, record, now=CHANGED)
        again = store.call(realized.keep_baseline, record, now=CHANGED + DAY)
        assert again == first


def test_without_consumption_the_baseline_is_kept_empty_and_a_deleted_branch_by_project(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "g.db") as store:
        record = succeeded(store, "branch", "br-old", "delete_branch")
        kept = store.call(realized.keep_baseline, record, now=CHANGED)
        assert kept is not None
        assert kept.baseline is None
        assert kept.scope == Scope(ORG, "pr-1", "br-old", branch_deleted=True)


def test_a_revoked_key_has_nothing_to_measure(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        record = succeeded(store, "api_key", "42", "revoke_org_key")
        assert store.call(realized.keep_baseline, record, now=CHANGED) is None
        assert store.call(realized.listed) == {}


def test_a_measurement_is_recorded_next_to_the_estimate_and_leaves_the_due_list(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "g.db") as store:
        seed(store)
        record = succeeded(store, "endpoint", "ep-1", "update_endpoint")
        store.call(realized.keep_baseline, record, now=CHANGED)
        assert [r.remediation_id for r in store.call(realized.due, now=CHANGED)] == [record.id]
        waiting = Measurement("waiting", "settling", until=CHANGED + 9 * DAY)
        store.call(realized.record, record.id, waiting, now=CHANGED + DAY)
        assert store.call(realized.due, now=CHANGED + 2 * DAY) == []
        assert len(store.call(realized.due, now=CHANGED + 9 * DAY)) == 1
        window = (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
        done = Measurement(
            "measured",
            "measured by its meters",
            realized_monthly_usd=63.6,
            cu_hours_monthly=600.0,
            window=window,
            drift=0.31,
            drifted=True,
        )
        store.call(realized.record, record.id, done, now=CHANGED + 10 * DAY)
        row = store.call(realized.get, record.id)
        assert row is not None
        assert (row.status, row.realized_monthly_usd, row.drifted) == ("measured", 63.6, True)
        assert (row.window_start, row.window_end) == window
        assert row.measured_at == CHANGED + 10 * DAY
        assert store.call(realized.due, now=CHANGED + 30 * DAY) == []
        total = store.call(realized.summary)
        assert (total.measured, total.drifted, total.estimated_usd, total.realized_usd) == (
            1,
            1,
            60.0,
            63.6,
        )
        assert row.as_json()["estimated_monthly_usd"] == 60.0


def test_the_measurement_pass_prices_a_due_row_at_its_plan_and_stores_the_saving(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "g.db") as store:
        seed(store)
        record = succeeded(store, "endpoint", "ep-1", "update_endpoint")
        store.call(realized.keep_baseline, record, now=CHANGED)
        after = []
        for n in range(16):  # from the day of the change: the compute now suspends (4 h a day)
            day = datetime(2026, 11, 16, tzinfo=UTC) + n * DAY
            after += [
                daily(day, COMPUTE_UNIT_SECONDS, 10 * 3600.0),
                daily(day, ROOT_BRANCH_BYTES_MONTH, 1e9),
                daily(day, COMPUTE_UNIT_SECONDS, 4 * 3600.0, "br-main"),
                daily(day, COMPUTE_UNIT_SECONDS, 6 * 3600.0, "br-dev"),
            ]
        store.call(consumption.write_buckets, after, CHANGED + 20 * DAY)
        early = store.call(realized.measure_due, now=CHANGED + 3 * DAY, prices=Prices())
        assert [row.status for row in early] == ["waiting"]
        assert store.call(realized.measure_due, now=CHANGED + 4 * DAY, prices=Prices()) == []
        (done,) = store.call(realized.measure_due, now=CHANGED + 10 * DAY, prices=Prices())
        assert done.status == "measured"
        # 20 CU-hours a day fewer, 30 days, Launch's $0.106 (the organization names no plan)
        assert done.realized_monthly_usd == pytest.approx(20 * 30 * 0.106, abs=0.01)
        assert not done.drifted
        assert done.drift == pytest.approx(0.0)
        assert store.call(realized.summary).realized_usd == done.realized_monthly_usd


def test_two_computes_of_one_branch_measured_together_count_their_drop_once(
    tmp_path: Path,
) -> None:
    """Each measures the whole branch, so each sees both drops: the total takes it once."""
    with Store.open(tmp_path / "g.db") as store:
        seed(store)
        swept = snapshot(projects=[("pr-1", ORG)], branches=[("br-main", "pr-1")])
        swept.endpoints += [endpoint("ep-1", "br-main"), endpoint("ep-2", "br-main")]
        run_id = store.call(history.start_run, "audit", CHANGED)
        store.call(history.record_snapshot, run_id, swept, CHANGED)
        window = (datetime(2026, 11, 18, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
        for endpoint_id in ("ep-1", "ep-2"):
            record = succeeded(store, "endpoint", endpoint_id, "update_endpoint")
            store.call(realized.keep_baseline, record, now=CHANGED)
            both = Measurement("measured", "both drops", realized_monthly_usd=100.0, window=window)
            store.call(realized.record, record.id, both, now=CHANGED + 10 * DAY)
        total = store.call(realized.summary)
        assert (total.measured, total.counted_once) == (2, 1)
        assert total.realized_usd == 100.0
        assert total.estimated_usd == 120.0  # each estimate is its own compute's
