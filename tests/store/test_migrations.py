"""Opening the store: pragmas, migrations that upgrade old files in place, refusals."""

from __future__ import annotations

import hashlib
import inspect
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from governor.store import Store, StoreError, audit_log, history
from governor.store import resources as resource_rows
from governor.store.connection import applied_migrations
from governor.store.migrations import known_migration_names, migrations
from tests.store.factories import ORG, T0, at, finding, second_connection, snapshot

# The source of every shipped migration. A failure here means a shipped migration was
# edited: revert it and add a new migration instead (files in the field already ran it).
SHIPPED = {
    "0001_initial": "c83b61ca3ac22377f68688a4775ba1b1212390418ffb6cc59ec47fe1e0f3ae90",
    "0002_audit_log": "f89cecb843f02a2de1922bb6cdbb2e256e9d182079e303d952c17952727d56bb",
    "0003_report_indexes": "e262404956d66edac37e06e20182f94a1678ea2704356be3eed26799fc8558fe",
    "0004_run_status": "dedfde1b01a509b25d6e1eaadf7b0b7823cea52f3029c51da47d0aeae6f331d7",
    "0005_job_runs": "dded58f18a7b9cb16fc60f6b20bfe086bf1d73e5587a2e49468fbc048df32cdc",
    "0006_remediations": "487c6da95c129db27818e1b7923d3fe4b0bda5dff2eb12a7c90988c5ab2069bd",
    "0007_slack": "b237bc4ba5d7f813b32fdf162c9ebe42cf94c307197b7f2a76b3e445aab7fac7",
    "0008_remediation_owners": "4ba19f6cdfa9cf9a4139fe8356673765f91963a61f89fbd1edb840a1b7ee4060",
    "0009_saved_plans": "d0ce69a11415a7bdef5dc38683fd93374dcf9dbef7c86a6a4e91db7caa2e7fbf",
    "0012_run_cancelled": "eeb6f7a55d64f30e965a00bd4bb39ef39fab0d819680d154cc412330bcbb30d4",
    "0013_resource_accounts": "fc398606072e8ed792a14cee877e1dbc3eb36ce1e0c87f3daf25628330eb659c",
    "0014_estimate_kinds": "f93a9a6bc30c1c999be23aff80d21d55006ca01cb130b558058228918a0f41ce",
    "0015_consumption": "f612c94a19d6e1ebc2d17815a87eca5c232ae3a098561bdb66e3107b543596de",
    "0016_realized_savings": "2dec598627b3bc17318b307f9b187e70bc0386d8fb6c752f2f812a11363b970d",
    "0017_snapshot_resources": "308fc34183ab9a361a8ed9c3e5ecb0bd4ebb6830199df81e55bc14a5313cad09",
    "0018_finding_owners": "d57ec0caca79c3c7c1b8482db5c7fb1940a1861cedb2aedc6b3b05b306fed7d8",
    "0019_digests": "6e93b8e0765662a43ab523653ab5a5ec3545f3d4a192577fadb5caae16adec24",
    "0020_deliveries": "69d5650235e9b5b43026fad662d260cbed5c49e8fda7dd0ab1992781cd389175",
    "0021_calm_slack": "645787f0f89aeb4d79c8dfe64f0feddeaff5526f42fde91d1df3ff4c196f7002",
}


def schema_of(path: Path) -> list[tuple[str, str, str]]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
            "ORDER BY type, name"
        ).fetchall()
    finally:
        connection.close()
    return [(kind, name, " ".join((sql or "").split())) for kind, name, sql in rows]


def build_at(path: Path, stop_before: str) -> None:
    db = Database(path)
    migrations.apply(db, stop_before=stop_before)
    db.close()


def test_shipped_migrations_are_never_edited() -> None:
    sources = {
        migration.name: hashlib.sha256(inspect.getsource(migration.fn).encode()).hexdigest()
        for migration in migrations._migrations
    }
    for name, digest in SHIPPED.items():
        assert sources[name] == digest, f"shipped migration {name} was edited; add a new one"
    assert known_migration_names() == sorted(known_migration_names())


def test_it_upgrades_a_file_built_at_the_first_migration_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0002_audit_log")
    old = Database(path)
    old["runs"].insert({"id": 1, "trigger": "audit", "started_at": "2026-10-01T00:00:00+00:00"})
    old["findings"].insert(
        {
            "policy": "stale-branches",
            "resource_type": "branch",
            "resource_id": "br-old",
            "org_id": "org-a",
            "project_id": "pr-1",
            "name": "old",
            "severity": "low",
            "summary": "old finding",
            "action": '{"type":"delete"}',
            "mode": "report",
            "status": "open",
            "first_seen": "2026-10-01T00:00:00.000000+00:00",
            "last_seen": "2026-10-01T00:00:00.000000+00:00",
            "status_changed_at": "2026-10-01T00:00:00.000000+00:00",
            "fingerprint": "fp-old",
            "first_run_id": 1,
            "last_run_id": 1,
        }
    )
    old.close()

    with Store.open(path) as store:
        assert store.call(applied_migrations) == known_migration_names()
        assert store.call(history.run_record, 1).trigger == "audit"
        (kept,) = store.call(history.findings)
        assert (kept.resource_id, kept.first_seen) == ("br-old", "2026-10-01T00:00:00.000000+00:00")
        run_id = store.call(history.start_run, "audit", at(1))
        assert run_id == 2
        store.call(
            history.record_findings,
            run_id,
            [finding("br-old")],
            snapshot(),
            ["stale-branches"],
            at(1),
        )
        (seen_again,) = store.call(history.findings)
        assert seen_again.id == kept.id
        assert seen_again.first_seen == kept.first_seen
        assert [entry.event for entry in store.call(audit_log.entries)] == [
            "run.started",
            "finding.changed",
        ]


def test_it_upgrades_runs_to_a_status_and_one_list_of_incomplete_parts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0004_run_status")
    part = {"kind": "branches", "org_id": "org-a", "project_id": "pr-2", "reason": "HTTP 503"}
    other = {"kind": "api_keys", "org_id": "org-a", "project_id": None, "reason": "HTTP 500"}
    started, finished = "2026-10-01T00:00:00.000000+00:00", "2026-10-01T00:05:00.000000+00:00"

    def old_run(errors: list[object], parts: list[object]) -> dict[str, object]:
        return {
            "trigger": "audit",
            "started_at": started,
            "finished_at": finished,
            "complete": 0,
            "requests": 9,
            "errors": json.dumps(errors),
            "incomplete_parts": json.dumps(parts),
        }

    old = Database(path)
    old["runs"].insert(old_run([part], [part]))  # as 0.1 wrote them: the same list twice
    old["runs"].insert(old_run([part], []))  # only finish_run's errors
    old["runs"].insert(old_run([other], [part]))  # something in each
    old["runs"].insert({"trigger": "daemon", "started_at": started})  # died mid-run
    old.close()

    with Store.open(path) as store:
        runs = {run.id: run for run in store.call(history.latest_runs)}
    assert [runs[run_id].status for run_id in (1, 2, 3, 4)] == [
        "finished",
        "finished",
        "finished",
        "running",
    ]
    assert runs[1].incomplete_parts == runs[2].incomplete_parts == [part]
    assert runs[3].incomplete_parts == [part, other]
    assert (runs[4].incomplete_parts, runs[4].failure_reason) == ([], None)
    with second_connection(path) as reader:
        columns = {name for (name,) in reader.execute("SELECT name FROM pragma_table_info('runs')")}
    assert "errors" not in columns
    assert {"status", "failure_reason", "incomplete_parts"} <= columns


def test_a_run_a_stop_abandoned_while_reading_can_end_cancelled_in_an_upgraded_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0012_run_cancelled")
    with Store.open(path) as store:
        run_id = store.call(history.start_run, "daemon", T0)
        ended = store.call(
            history.fail_run, run_id, finished_at=at(1), reason="stopped", status="cancelled"
        )
        assert (ended.status, ended.failure_reason) == ("cancelled", "stopped")
        assert [entry.event for entry in store.call(audit_log.entries)][-1] == "run.cancelled"
    with second_connection(path) as reader:
        assert reader.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        with pytest.raises(sqlite3.IntegrityError):
            reader.execute("UPDATE runs SET status = 'bogus'")


def test_an_upgraded_file_records_which_account_read_each_resource_from_then_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0013_resource_accounts")
    seen = snapshot(projects=[("pr-2", ORG)], branches=[("br-2", "pr-2")], keys=[(7, "org", ORG)])
    with Store.open(path) as store:
        store.call(history.record_snapshot, store.call(history.start_run, "audit", T0), seen, T0)
        assert (
            store.call(resource_rows.account_of, "branch", "br-2", project_id="pr-2") is None
        )  # one account
        seen.read_by = {"project:pr-2": "second", "key:7": "second"}
        store.call(
            history.record_snapshot, store.call(history.start_run, "audit", at(1)), seen, at(1)
        )
        assert store.call(resource_rows.account_of, "branch", "br-2", project_id="pr-2") == "second"
        assert (
            store.call(resource_rows.account_of, "branch", "br-new", project_id="pr-2") == "second"
        )
        assert store.call(resource_rows.account_of, "api_key", "7") == "second"
        [branch] = store.call(resource_rows.listed, "branch")
        assert branch.account == "second"


def test_an_upgraded_money_estimate_reads_back_as_estimated_with_no_parts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0014_estimate_kinds")
    old = Database(path)
    old["runs"].insert({"id": 1, "trigger": "audit", "started_at": "2026-10-01T00:00:00+00:00"})
    row = {
        "policy": "stale-branches",
        "resource_type": "branch",
        "org_id": "org-a",
        "project_id": "pr-1",
        "severity": "low",
        "summary": "old finding",
        "action": '{"type":"delete"}',
        "mode": "report",
        "status": "open",
        "first_seen": "2026-10-01T00:00:00.000000+00:00",
        "last_seen": "2026-10-01T00:00:00.000000+00:00",
        "status_changed_at": "2026-10-01T00:00:00.000000+00:00",
        "fingerprint": "fp-old",
        "first_run_id": 1,
        "last_run_id": 1,
    }
    old["findings"].insert(
        {**row, "resource_id": "br-1", "name": "a", "estimate_usd": 3.5, "estimate_kind": "money"}
    )
    old["findings"].insert(
        {**row, "resource_id": "br-2", "name": "b", "estimate_usd": 0.0, "estimate_kind": "risk"}
    )
    old.close()
    with Store.open(path) as store:
        kinds = {item.resource_id: item.estimate_kind for item in store.call(history.findings)}
        assert kinds == {"br-1": "estimated", "br-2": "risk"}
        assert {item.estimate_parts for item in store.call(history.findings)} == {()}
    with second_connection(path) as other, pytest.raises(sqlite3.IntegrityError):
        other.execute("UPDATE findings SET estimate_kind = 'money'")


def test_an_upgraded_file_keeps_findings_about_snapshots_and_organizations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0017_snapshot_resources")
    Store.open(path).close()
    with second_connection(path) as other:
        other.execute("INSERT INTO runs (id, trigger, started_at) VALUES (1, 'audit', 't')")
        for kind, resource_id in (("snapshot", "snap-1"), ("organization", "org-a")):
            other.execute(
                "INSERT INTO findings (policy, resource_type, resource_id, name, severity, "
                "summary, action, mode, status, first_seen, last_seen, status_changed_at, "
                "fingerprint, first_run_id, last_run_id) VALUES (?, ?, ?, 'n', 'low', 's', "
                "'{}', 'report', 'open', 't', 't', 't', 'fp', 1, 1)",
                ["p", kind, resource_id],
            )
            other.execute(
                "INSERT INTO resources (resource_type, resource_id, raw, first_seen, "
                "last_seen, last_run_id) VALUES (?, ?, '{}', 't', 't', 1)",
                [kind, resource_id],
            )
        other.commit()
        assert other.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        with pytest.raises(sqlite3.IntegrityError):
            other.execute("UPDATE findings SET resource_type = 'bogus'")


@pytest.mark.parametrize("stop_before", known_migration_names()[1:])
def test_an_upgraded_file_has_the_same_schema_as_a_fresh_one(
    tmp_path: Path, stop_before: str
) -> None:
    fresh, upgraded = tmp_path / "fresh.db", tmp_path / "upgraded.db"
    Store.open(fresh).close()
    build_at(upgraded, stop_before=stop_before)
    Store.open(upgraded).close()
    assert schema_of(upgraded) == schema_of(fresh)


def test_reopening_applies_nothing_and_keeps_runs(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    with Store.open(path) as store:
        store.call(history.start_run, "audit", T0)
    with Store.open(path) as store:
        assert store.call(applied_migrations) == known_migration_names()
        assert [run.id for run in store.call(history.latest_runs)] == [1]


def test_it_turns_on_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    with Store.open(path) as store:
        with second_connection(path) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with pytest.raises(StoreError, match=r"governor\.db: refused by the schema.*FOREIGN KEY"):
            store.call(audit_log.record, "x", "y", {}, actor="test", run_id=999)
        assert store.call(audit_log.entries) == []


def test_a_writer_waits_for_the_lock_up_to_the_busy_timeout_then_says_so(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    Store.open(path).close()
    with second_connection(path) as holder, Store.open(path, busy_timeout_seconds=0.5) as waiting:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked by another process") as caught:
            waiting.call(history.start_run, "audit", T0)
        assert time.monotonic() - started >= 0.45
        assert "0.5 s busy timeout" in str(caught.value)
        holder.execute("ROLLBACK")
        assert waiting.call(history.start_run, "audit", T0) == 1


def test_a_writer_gets_the_lock_when_the_other_process_lets_go(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    Store.open(path).close()
    locked = threading.Event()

    def hold_the_lock() -> None:
        with second_connection(path) as holder:
            holder.execute("BEGIN IMMEDIATE")
            holder.execute("INSERT INTO runs (trigger, started_at) VALUES ('other', 'x')")
            locked.set()
            time.sleep(0.3)
            holder.execute("COMMIT")

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(30)
        with Store.open(path, busy_timeout_seconds=30) as store:
            run_id = store.call(
                history.start_run, "audit", T0
            )  # waits: the other's run comes first
            assert [run.trigger for run in store.call(history.latest_runs)] == ["audit", "other"]
            assert run_id == 2
    finally:
        holder.join()


def test_a_second_connection_reads_while_a_write_is_open(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    with Store.open(path) as store, second_connection(path) as writer:
        store.call(history.start_run, "audit", T0)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO runs (trigger, started_at) VALUES ('daemon', 'x')")
        assert [run.trigger for run in store.call(history.latest_runs)] == ["audit"]
        writer.execute("COMMIT")
        assert [run.trigger for run in store.call(history.latest_runs)] == ["daemon", "audit"]


def test_read_only_refuses_a_file_that_needs_migrations(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0003_report_indexes")
    with pytest.raises(StoreError, match=r"old\.db: schema needs migrations 0003_report_indexes"):
        Store.open(path, read_only=True)


def test_read_only_store_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    Store.open(path).close()
    with Store.open(path, read_only=True) as store:
        with pytest.raises(StoreError, match=r"governor\.db: opened read-only") as caught:
            store.call(history.start_run, "audit", T0)
        assert "\n" not in str(caught.value)
        assert store.call(history.latest_runs) == []


def test_it_refuses_a_file_written_by_a_newer_version(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    Store.open(path).close()
    db = Database(path)
    db["_sqlite_migrations"].insert(
        {"migration_set": "neon-governor", "name": "0099_future", "applied_at": "2030-01-01"}
    )
    db.close()
    with pytest.raises(StoreError, match=r"newer neon-governor.*0099_future"):
        Store.open(path)


def test_it_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(StoreError, match=r"notes\.txt: not a SQLite database"):
        Store.open(path)


def test_it_names_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "governor.db"
    with pytest.raises(StoreError, match=r"missing.*does not exist"):
        Store.open(path)
    assert not path.parent.exists()


def test_two_processes_opening_an_old_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0002_audit_log")
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait(timeout=60)
            Store.open(path, busy_timeout_seconds=60).close()
        except BaseException as error:  # reported below, on the test's thread
            failures.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with Store.open(path) as store:
        assert store.call(applied_migrations) == known_migration_names()
