"""The remediation state machine in the store: one winner per move, one active per resource."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from governor.model.changes import Change, DeleteBranch, UpdateBranch
from governor.store import Store, StoreError, audit_log, history, remediations
from governor.store.remediations import NewRemediation
from tests.store.factories import ORG, T0, finding, snapshot


def new(resource_id: str = "br-1", state: str = "planned") -> NewRemediation:
    return NewRemediation(
        account="default",
        policy="stale-branches",
        mode="auto",
        findings=[{"finding_id": 1, "policy": "stale-branches", "fingerprint": "f"}],
        resource_type="branch",
        resource_id=resource_id,
        org_id="org-a",
        project_id="p1",
        resource_name="preview/x",
        change=Change("delete_branch"),
        before={"name": "preview/x"},
        after={"deleted": True},
        disruptive=True,
        irreversible=True,
        why="idle",
        estimate_usd=1.5,
        state=state,  # type: ignore[arg-type]
    )


def test_a_resource_has_at_most_one_active_remediation(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        first, created = store.call(remediations.add, new(), now=T0)
        again, created_again = store.call(remediations.add, new(), now=T0)
        assert created
        assert not created_again
        assert again.id == first.id
        store.call(remediations.move, first.id, expected=["planned"], to="executing", now=T0)
        store.call(remediations.move, first.id, expected=["executing"], to="succeeded", now=T0)
        later, created_later = store.call(remediations.add, new(), now=T0)
        assert created_later
        assert later.id != first.id


def test_of_two_processes_racing_for_one_move_exactly_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    with Store.open(path) as store:
        record, _ = store.call(remediations.add, new(), now=T0)
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        with Store.open(path, busy_timeout_seconds=30) as mine:
            barrier.wait()
            moved = mine.call(
                remediations.move, record.id, expected=["planned"], to="executing", now=T0
            )
            wins.append(moved is not None)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_moves_outside_the_state_machine_are_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        record, _ = store.call(remediations.add, new(), now=T0)
        with pytest.raises(StoreError, match="no transition planned -> succeeded"):
            store.call(remediations.move, record.id, expected=["planned"], to="succeeded", now=T0)


def test_every_move_is_on_the_audit_log_with_who_and_why(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        record, _ = store.call(remediations.add, new(state="awaiting_approval"), now=T0)
        store.call(
            remediations.move,
            record.id,
            expected=["awaiting_approval"],
            to="rejected",
            now=T0,
            actor="alice",
            reason="keep it",
        )
        entries = store.call(audit_log.entries, subject=f"remediation:{record.id}")
        assert [(e.event, e.actor) for e in entries] == [
            ("remediation_awaiting_approval", "governor"),
            ("remediation_rejected", "alice"),
        ]
        assert entries[-1].details["reason"] == "keep it"


def test_the_first_notice_of_a_finding_counts_and_pause_is_a_switch(tmp_path: Path) -> None:
    with Store.open(tmp_path / "g.db") as store:
        run_id = store.call(history.start_run, "test", T0)
        snap = snapshot(projects=[("pr-1", ORG)], branches=[("br-1", "pr-1")])
        [stored] = store.call(
            history.record_findings, run_id, [finding("br-1")], snap, ["stale-branches"], T0
        )
        assert store.call(remediations.record_notice, stored.id, now=T0, via="log", details={})
        assert not store.call(
            remediations.record_notice, stored.id, now=T0, via="slack", details={}
        )
        assert set(store.call(remediations.notices, [stored.id, stored.id + 1])) == {stored.id}
        assert store.call(remediations.paused) is None
        store.call(remediations.set_paused, True, reason="incident", actor="bob", now=T0)
        paused = store.call(remediations.paused)
        assert paused is not None
        assert (paused.reason, paused.set_by) == ("incident", "bob")
        store.call(remediations.set_paused, False, reason=None, actor="bob", now=T0)
        assert store.call(remediations.paused) is None


def _stored_change(connection: sqlite3.Connection, record_id: int) -> Any:
    row = connection.execute("SELECT change FROM remediations WHERE id = ?", (record_id,))
    return json.loads(row.fetchone()[0])


def _write_change(connection: sqlite3.Connection, record_id: int, text: str) -> None:
    connection.execute("UPDATE remediations SET change = ? WHERE id = ?", (text, record_id))


def test_a_row_keeps_its_change_as_kind_and_fields_and_is_read_back_as_the_kinds_class(
    tmp_path: Path,
) -> None:
    """Rows written before the typed changes hold ``{"kind", "fields"}``: they still read."""
    with Store.open(tmp_path / "g.db") as store:
        record, _ = store.call(remediations.add, new(), now=T0)
        assert store.call(_stored_change, record.id) == {"kind": "delete_branch", "fields": {}}
        assert isinstance(record.change, DeleteBranch)
        older = '{"kind": "update_branch", "fields": {"expires_at": "2026-12-01T00:00:00Z"}}'
        store.call(_write_change, record.id, older)
        back = store.call(remediations.get, record.id)
        assert isinstance(back.change, UpdateBranch)
        assert back.change.fields == {"expires_at": "2026-12-01T00:00:00Z"}
        assert back.change.request(project_id="p1", resource_id="br-1", org_id=None) == (
            'PATCH /projects/p1/branches/br-1 {"branch": {"expires_at": "2026-12-01T00:00:00Z"}}'
        )
