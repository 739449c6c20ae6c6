"""compare_and_set: one row moves from the expected state, once, whoever else tries too.

These tests make a state-machine table of their own on
the store's file (through a second connection, as a later migration would).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from governor.store import Store, StoreError
from tests.store.factories import T0, at, second_connection

ROWS = 50


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "governor.db"
    Store.open(path).close()
    with second_connection(path) as connection:
        connection.execute(
            "CREATE TABLE lifecycles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            "state TEXT NOT NULL CHECK (state IN ('pending', 'applying', 'applied')), "
            "owner TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT, plan TEXT)"
        )
        connection.executemany("INSERT INTO lifecycles (state) VALUES (?)", [("pending",)] * ROWS)
    return path


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store.open(path) as opened:
        yield opened


def state_of(path: Path, row_id: int) -> tuple[object, ...]:
    with second_connection(path) as connection:
        return tuple(
            connection.execute(
                "SELECT state, owner, attempts, updated_at, plan FROM lifecycles WHERE id = ?",
                [row_id],
            ).fetchone()
        )


def test_a_transition_from_the_expected_state_changes_the_row(store: Store, path: Path) -> None:
    moved = store.compare_and_set(
        "lifecycles",
        {"id": 1},
        {"state": "pending", "owner": None},
        {"state": "applying", "owner": "daemon", "updated_at": at(1), "plan": {"type": "delete"}},
    )
    assert moved
    assert state_of(path, 1) == (
        "applying",
        "daemon",
        0,
        "2026-11-01T07:00:00.000000+00:00",
        '{"type":"delete"}',
    )


def test_a_stale_expected_state_loses_and_changes_nothing(path: Path) -> None:
    with Store.open(path) as first, Store.open(path) as second:
        pending, applying = {"state": "pending"}, {"state": "applying"}
        assert first.compare_and_set("lifecycles", {"id": 2}, pending, applying)
        assert not second.compare_and_set(
            "lifecycles", {"id": 2}, pending, {"state": "applying", "owner": "cli"}
        )
    assert state_of(path, 2) == ("applying", None, 0, None, None)


def test_two_stores_racing_the_same_transition_have_exactly_one_winner(path: Path) -> None:
    start = threading.Barrier(2)
    wins: dict[str, list[int]] = {"daemon": [], "cli": []}
    failures: list[BaseException] = []

    def contend(name: str) -> None:
        try:
            with Store.open(path, busy_timeout_seconds=60) as store:
                start.wait(timeout=60)
                for row_id in range(1, ROWS + 1):
                    if store.compare_and_set(
                        "lifecycles",
                        {"id": row_id},
                        {"state": "pending"},
                        {"state": "applying", "owner": name},
                    ):
                        wins[name].append(row_id)
        except BaseException as error:  # reported below, on the test's thread
            failures.append(error)

    threads = [threading.Thread(target=contend, args=(name,)) for name in wins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(wins["daemon"] + wins["cli"]) == list(range(1, ROWS + 1))
    for name, rows in wins.items():
        for row_id in rows:
            assert state_of(path, row_id)[:2] == ("applying", name)


def test_expected_none_matches_null_and_a_counter_can_be_compared(store: Store) -> None:
    assert store.compare_and_set("lifecycles", {"id": 3}, {"attempts": 0}, {"attempts": 1})
    assert not store.compare_and_set("lifecycles", {"id": 3}, {"attempts": 0}, {"attempts": 2})
    assert not store.compare_and_set(
        "lifecycles", {"id": 3}, {"updated_at": T0}, {"state": "applied"}
    )


@pytest.mark.parametrize(
    "case",
    [
        ("nope", {"id": 1}, {}, {"state": "x"}, "no table 'nope'"),
        ("lifecycles", {"idd": 1}, {}, {"state": "x"}, "unknown where column.*'idd'"),
        ("lifecycles", {"id": 1}, {"stat": "x"}, {"state": "x"}, "unknown expected column"),
        (
            "lifecycles",
            {"id": 1},
            {},
            {"state = 'applied'; DROP TABLE runs; --": "x"},
            "unknown changes column",
        ),
        ("runs", {"id": 1}, {}, {"status": "finished"}, "refuses to change 'runs'"),
        ("findings", {"id": 1}, {}, {"status": "open"}, "refuses to change 'findings'"),
        ("resources", {"resource_id": "x"}, {}, {"name": "y"}, "refuses to change 'resources'"),
        ("_sqlite_migrations", {"id": 1}, {}, {"name": "x"}, "refuses to change"),
        ("sqlite_master", {"name": "x"}, {}, {"sql": "x"}, "SQLite's own"),
        ("lifecycles", {}, {"state": "pending"}, {"state": "applying"}, "must name the row"),
        ("lifecycles", {"id": 1}, {"state": "pending"}, {}, "no changes given"),
        ("lifecycles", {"id": 1}, {}, {"plan": object()}, "plan: cannot store a object"),
        ("lifecycles", {"id": 1}, {}, {"state": "broken"}, "refused by the schema.*CHECK"),
    ],
)
def test_it_refuses_what_it_cannot_check_or_must_not_change(
    store: Store, path: Path, case: tuple[Any, ...]
) -> None:
    *call, message = case  # table, where, expected, changes
    with pytest.raises(StoreError, match=message) as caught:
        store.compare_and_set(*call)
    assert "\n" not in str(caught.value)
    assert state_of(path, 1) == ("pending", None, 0, None, None)
    assert store.runs() == []


def test_a_where_that_matches_several_rows_changes_none(store: Store, path: Path) -> None:
    with pytest.raises(StoreError, match=f"{ROWS} rows matched"):
        store.compare_and_set("lifecycles", {"state": "pending"}, {}, {"state": "applying"})
    assert {state_of(path, row_id)[0] for row_id in range(1, ROWS + 1)} == {"pending"}
