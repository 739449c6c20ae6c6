"""The audit log is append-only, and says who did what, when, in which run."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from governor.store import Store, StoreError, audit_log, history
from governor.store.encoding import encode_time
from tests.store.factories import T0, at, second_connection


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as opened:
        yield opened


def test_audit_appends_an_entry_with_actor_and_details(store: Store) -> None:
    run_id = store.call(history.start_run, "audit", T0)
    entry_id = store.call(
        audit_log.record,
        "remediation.planned",
        "finding:3",
        {"action": "delete"},
        actor="alice",
        run_id=run_id,
        at=at(1),
    )
    entry = store.call(audit_log.entries)[-1]
    assert (entry.id, entry.at, entry.run_id, entry.actor) == (
        entry_id,
        encode_time(at(1)),
        run_id,
        "alice",
    )
    assert (entry.event, entry.subject, entry.details) == (
        "remediation.planned",
        "finding:3",
        {"action": "delete"},
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 1",
    ],
)
def test_the_audit_log_refuses_updates_and_deletes(tmp_path: Path, statement: str) -> None:
    path = tmp_path / "governor.db"
    with Store.open(path) as store:
        store.call(history.start_run, "audit", T0)
        before = store.call(audit_log.entries)
        with (
            second_connection(path) as other,
            pytest.raises(sqlite3.IntegrityError, match="audit_log is append-only"),
        ):
            other.execute(statement)
        assert store.call(audit_log.entries) == before


def test_audit_refuses_empty_names_and_unserialisable_details(store: Store) -> None:
    with pytest.raises(StoreError, match="must be non-empty"):
        store.call(audit_log.record, "", "finding:1", {}, actor="alice")
    with pytest.raises(StoreError, match="audit x finding:1: details"):
        store.call(audit_log.record, "x", "finding:1", {"when": object()}, actor="alice")
    assert store.call(audit_log.entries) == []
