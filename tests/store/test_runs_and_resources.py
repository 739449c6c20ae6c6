"""Runs from start to finish, and the latest view of every resource a sweep saw."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from governor.model.snapshot import IncompletePart, KeyRecord
from governor.neon.models import ApiKey
from governor.store import Store, StoreError, audit_log, history
from governor.store import resources as resource_rows
from governor.store.encoding import encode_time
from tests.store.factories import OTHER_ORG, T0, at, endpoint, snapshot


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as opened:
        yield opened


def test_a_run_records_its_start_and_finish(store: Store) -> None:
    run_id = store.call(history.start_run, "daemon", at(0))
    running = store.call(history.run_record, run_id)
    assert (running.trigger, running.status, running.finished_at, running.complete) == (
        "daemon",
        "running",
        None,
        None,
    )
    finished = store.call(
        history.finish_run,
        run_id,
        finished_at=at(0.25),
        complete=False,
        requests=42,
        errors=[{"kind": "branches", "reason": "HTTP 503"}],
    )
    assert finished.started_at == encode_time(at(0))
    assert finished.finished_at == encode_time(at(0.25))
    assert (finished.status, finished.complete, finished.requests) == ("finished", False, 42)
    assert finished.incomplete_parts == [{"kind": "branches", "reason": "HTTP 503"}]
    assert finished.failure_reason is None
    assert [
        (entry.event, entry.subject) for entry in store.call(audit_log.entries, run_id=run_id)
    ] == [
        ("run.started", f"run:{run_id}"),
        ("run.finished", f"run:{run_id}"),
    ]


def test_the_snapshot_records_the_parts_it_could_not_read_once(store: Store) -> None:
    run_id = store.call(history.start_run, "audit", T0)
    part = IncompletePart("branches", "HTTP 503", "org-a", "pr-2")
    store.call(history.record_snapshot, run_id, snapshot(incomplete=[part]), T0)
    assert store.call(history.run_record, run_id).incomplete_parts == [part.as_dict()]
    store.call(
        history.finish_run,
        run_id,
        finished_at=T0,
        complete=False,
        requests=3,
        errors=[part.as_dict()],
    )
    assert store.call(history.run_record, run_id).incomplete_parts == [part.as_dict()]


def test_a_run_that_fails_is_marked_failed_with_its_reason_and_an_audit_entry(
    store: Store,
) -> None:
    run_id = store.call(history.start_run, "daemon", at(0))
    failed = store.call(
        history.fail_run, run_id, finished_at=at(0.1), reason="NeonAuthError: HTTP 401\nhint"
    )
    assert (failed.status, failed.finished_at, failed.complete) == (
        "failed",
        encode_time(at(0.1)),
        False,
    )
    assert failed.failure_reason == "NeonAuthError: HTTP 401 hint"
    (entry,) = store.call(audit_log.entries, subject=f"run:{run_id}")[1:]
    assert (entry.event, entry.details) == ("run.failed", {"reason": failed.failure_reason})
    with pytest.raises(StoreError, match=f"record_snapshot: run {run_id} already failed"):
        store.call(history.record_snapshot, run_id, snapshot(), at(1))


def test_fail_run_leaves_a_run_that_already_ended_as_it_was(store: Store) -> None:
    run_id = store.call(history.start_run, "audit", at(0))
    finished = store.call(
        history.finish_run, run_id, finished_at=at(1), complete=True, requests=1, errors=[]
    )
    assert store.call(history.fail_run, run_id, finished_at=at(2), reason="late") == finished
    assert [entry.event for entry in store.call(audit_log.entries)] == [
        "run.started",
        "run.finished",
    ]
    with pytest.raises(StoreError, match="no run with id 99"):
        store.call(history.fail_run, 99, finished_at=at(2), reason="late")


def test_runs_a_crash_left_behind_are_abandoned_with_an_audit_entry_each(store: Store) -> None:
    crashed = [store.call(history.start_run, "daemon", at(hour)) for hour in (0, 1)]
    done = store.call(history.start_run, "audit", at(2))
    store.call(history.finish_run, done, finished_at=at(2), complete=True, requests=0, errors=[])
    just_started = store.call(history.start_run, "audit", at(5))
    abandoned = store.call(
        history.abandon_unfinished_runs,
        now=at(5),
        reason="the daemon restarted",
        started_before=at(4),
    )
    assert abandoned == crashed
    assert [run.status for run in store.call(history.latest_runs)] == [
        "running",
        "finished",
        "abandoned",
        "abandoned",
    ]
    assert store.call(history.run_record, crashed[0]).failure_reason == "the daemon restarted"
    assert store.call(history.run_record, crashed[0]).finished_at == encode_time(at(5))
    assert store.call(history.run_record, just_started).status == "running"
    entries = [entry for entry in store.call(audit_log.entries) if entry.event == "run.abandoned"]
    assert [(entry.subject, entry.run_id) for entry in entries] == [
        (f"run:{run_id}", run_id) for run_id in crashed
    ]
    assert (
        store.call(history.abandon_unfinished_runs, now=at(5), reason="again", started_before=at(4))
        == []
    )
    assert store.call(history.abandon_unfinished_runs, now=at(6), reason="all") == [just_started]


def test_times_are_stored_in_utc_whatever_zone_they_came_in(store: Store) -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2026, 11, 1, 7, 0, tzinfo=ZoneInfo("Europe/Paris"))
    run_id = store.call(history.start_run, "audit", local)
    assert store.call(history.run_record, run_id).started_at == "2026-11-01T06:00:00.000000+00:00"


def test_a_finished_run_takes_no_more_writes(store: Store) -> None:
    run_id = store.call(history.start_run, "audit", T0)
    store.call(history.finish_run, run_id, finished_at=T0, complete=True, requests=0, errors=[])
    with pytest.raises(StoreError, match=f"finish_run: run {run_id} already finished"):
        store.call(history.finish_run, run_id, finished_at=T0, complete=True, requests=0, errors=[])
    with pytest.raises(StoreError, match="record_findings: run 1 already finished"):
        store.call(history.record_findings, run_id, [], snapshot(), [], T0)
    with pytest.raises(StoreError, match="record_snapshot: run 1 already finished"):
        store.call(history.record_snapshot, run_id, snapshot(), T0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda store: store.call(history.run_record, 7), "no run with id 7"),
        (lambda store: store.call(history.finding, 7), "no finding with id 7"),
        (
            lambda store: store.call(history.start_run, "audit", datetime(2026, 1, 1)),
            "naive datetime",
        ),
        (lambda store: store.call(history.start_run, "", T0), "trigger must be a non-empty string"),
        (
            lambda store: store.call(
                history.finish_run,
                store.call(history.start_run, "audit", T0),
                finished_at=T0,
                complete=True,
                requests=-1,
                errors=[],
            ),
            "requests must be >= 0",
        ),
    ],
)
def test_bad_calls_get_a_clear_error(store: Store, call: object, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        call(store)  # type: ignore[operator]


def test_a_snapshot_keeps_every_object_as_the_api_returned_it(store: Store) -> None:
    run_id = store.call(history.start_run, "audit", T0)
    swept = snapshot(projects=[("pr-1", "org-a")], branches=[("br-1", "pr-1")])
    swept.endpoints.append(endpoint("ep-1", "br-1"))
    key = ApiKey.from_api({"id": 7, "name": "ci", "project_id": "pr-1", "surprise": [1]})
    swept.api_keys.append(KeyRecord(key, "project", "org-a"))
    store.call(history.record_snapshot, run_id, swept, T0)
    rows = {(row.resource_type, row.resource_id): row for row in store.call(resource_rows.listed)}
    assert set(rows) == {
        ("organization", "org-a"),
        ("project", "pr-1"),
        ("branch", "br-1"),
        ("endpoint", "ep-1"),
        ("api_key", "7"),
    }
    key = rows[("api_key", "7")]
    assert (key.org_id, key.project_id, key.scope, key.name) == ("org-a", "pr-1", "project", "ci")
    assert key.raw == {"id": 7, "name": "ci", "project_id": "pr-1", "surprise": [1]}
    assert rows[("branch", "br-1")].org_id == "org-a"
    assert rows[("endpoint", "ep-1")].name == "ep-1"


def test_resources_keep_first_seen_and_are_marked_gone_only_where_the_sweep_looked(
    store: Store,
) -> None:
    first = snapshot(
        org_ids=["org-a", OTHER_ORG],
        projects=[("pr-1", "org-a"), ("pr-2", "org-a"), ("pr-b", OTHER_ORG)],
        branches=[("br-1", "pr-1"), ("br-2", "pr-2"), ("br-b", "pr-b")],
    )
    run_one = store.call(history.start_run, "audit", at(0))
    store.call(history.record_snapshot, run_one, first, at(0))

    # Second sweep: org-b not covered, pr-2's branches unreadable, br-1 deleted.
    second = snapshot(
        org_ids=["org-a"],
        projects=[("pr-1", "org-a"), ("pr-2", "org-a")],
        incomplete=[IncompletePart("branches", "HTTP 503", "org-a", "pr-2")],
    )
    run_two = store.call(history.start_run, "audit", at(1))
    store.call(history.record_snapshot, run_two, second, at(1))
    rows = {row.resource_id: row for row in store.call(resource_rows.listed, include_gone=True)}
    assert rows["br-1"].gone_at == encode_time(at(1))
    assert rows["br-2"].gone_at is None
    assert rows["br-b"].gone_at is None
    assert rows["pr-1"].first_seen == encode_time(at(0))
    assert rows["pr-1"].last_seen == encode_time(at(1))
    assert "br-1" not in {row.resource_id for row in store.call(resource_rows.listed)}

    # Third sweep sees br-1 again: it is back, with its original first sighting.
    run_three = store.call(history.start_run, "audit", at(2))
    store.call(history.record_snapshot, run_three, first, at(2))
    back = {row.resource_id: row for row in store.call(resource_rows.listed, "branch")}["br-1"]
    assert (back.gone_at, back.first_seen, back.last_run_id) == (None, encode_time(at(0)), 3)
