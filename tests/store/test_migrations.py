"""Opening the store: pragmas, migrations that upgrade old files in place, refusals."""

from __future__ import annotations

import hashlib
import inspect
import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from governor.store import Store, StoreError
from governor.store.migrations import known_migration_names, migrations
from tests.store.factories import T0, at, finding, snapshot

# The source of every shipped migration. A failure here means a shipped migration was
# edited: revert it and add a new migration instead (files in the field already ran it).
SHIPPED = {
    "0001_initial": "c83b61ca3ac22377f68688a4775ba1b1212390418ffb6cc59ec47fe1e0f3ae90",
    "0002_audit_log": "f89cecb843f02a2de1922bb6cdbb2e256e9d182079e303d952c17952727d56bb",
    "0003_report_indexes": "e262404956d66edac37e06e20182f94a1678ea2704356be3eed26799fc8558fe",
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
        assert store.migrations_applied() == known_migration_names()
        assert store.run(1).trigger == "audit"
        (kept,) = store.findings()
        assert (kept.resource_id, kept.first_seen) == ("br-old", "2026-10-01T00:00:00.000000+00:00")
        run_id = store.start_run("audit", at(1))
        assert run_id == 2
        store.record_findings(run_id, [finding("br-old")], snapshot(), ["stale-branches"], at(1))
        (seen_again,) = store.findings()
        assert seen_again.id == kept.id
        assert seen_again.first_seen == kept.first_seen
        assert [entry.event for entry in store.audit_log()] == ["run.started", "finding.changed"]


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
        store.start_run("audit", T0)
    with Store.open(path) as store:
        assert store.migrations_applied() == known_migration_names()
        assert [run.id for run in store.runs()] == [1]


def test_it_turns_on_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    with Store.open(tmp_path / "governor.db", busy_timeout_seconds=2.5) as store:
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 2500
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            store.db.execute(
                "INSERT INTO audit_log (at, run_id, actor, event, subject) "
                "VALUES ('2026-01-01', 999, 'test', 'x', 'y')"
            )


def test_a_second_connection_reads_while_a_write_is_open(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    with Store.open(path) as writer, Store.open(path, read_only=True) as reader:
        writer.start_run("audit", T0)
        with writer.db.atomic():
            writer.start_run("daemon", at(1))
            assert [run.trigger for run in reader.runs()] == ["audit"]
        assert [run.trigger for run in reader.runs()] == ["daemon", "audit"]


def test_read_only_refuses_a_file_that_needs_migrations(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    build_at(path, stop_before="0003_report_indexes")
    with pytest.raises(StoreError, match=r"old\.db: schema needs migrations 0003_report_indexes"):
        Store.open(path, read_only=True)


def test_read_only_store_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    Store.open(path).close()
    with Store.open(path, read_only=True) as store, pytest.raises(sqlite3.OperationalError):
        store.start_run("audit", T0)


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
    with pytest.raises(StoreError, match=r"notes\.txt: not a usable neon-governor database"):
        Store.open(path)


def test_it_names_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "governor.db"
    with pytest.raises(StoreError, match=r"missing.*does not exist"):
        Store.open(path)
    assert not path.parent.exists()


def test_a_writer_blocked_past_the_busy_timeout_gets_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    with Store.open(path) as holder, Store.open(path, busy_timeout_seconds=0) as blocked:
        holder.db.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError, match=r"cannot start writing .*busy timeout"):
            blocked.start_run("audit", T0)
        holder.db.rollback()
        assert blocked.start_run("audit", T0) == 1
