"""A bad store file gives one line naming the file and what is wrong, never a traceback.

Permissions: root ignores file modes, and CI runs as root. So as root the chmod cases run
in a forked child that became ``nobody``; where it cannot, they skip. The read-only open
(``mode=ro``, how report-only commands open the file) is tested everywhere.
"""

from __future__ import annotations

import os
import pwd
import select
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from governor.store import Store, StoreError, audit_log, history
from governor.store import resources as resource_rows
from governor.store.connection import applied_migrations
from tests.store.factories import T0, at, finding, second_connection, snapshot

STALE = "stale-branches"
CHILD_SECONDS = 60


def message_of(call: Callable[[], object], path: Path) -> str:
    with pytest.raises(StoreError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    return message


def populated(path: Path) -> None:
    with Store.open(path) as store:
        run_id = store.call(history.start_run, "audit", T0)
        swept = snapshot(branches=[("br-1", "pr-1"), ("br-2", "pr-1")])
        store.call(history.record_snapshot, run_id, swept, T0)
        store.call(
            history.record_findings, run_id, [finding("br-1"), finding("br-2")], swept, [STALE], T0
        )
        store.call(history.finish_run, run_id, finished_at=T0, complete=True, requests=1, errors=[])


@pytest.mark.parametrize("read_only", [False, True])
def test_garbage_bytes_are_not_a_database(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "governor.db"
    path.write_bytes(bytes(range(256)) * 64)
    message = message_of(lambda: Store.open(path, read_only=read_only), path)
    assert "not a SQLite database, or corrupt (file is not a database)" in message


def test_a_database_with_damaged_pages_is_called_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    populated(path)
    with second_connection(path) as reader:
        (page_size,) = reader.execute("PRAGMA page_size").fetchone()
        (root,) = reader.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'findings'"
        ).fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xde\xad" * (page_size // 2))
    with Store.open(path) as store:
        message = message_of(lambda: store.call(history.findings, status=None), path)
    assert "the database file is corrupt (database disk image is malformed)" in message


def test_opening_an_old_file_locked_by_another_writer_says_so(tmp_path: Path) -> None:
    path = tmp_path / "governor.db"
    with second_connection(path) as holder:
        holder.execute("CREATE TABLE placeholder (x)")  # a database, still without our schema
        holder.execute("BEGIN IMMEDIATE")
        message = message_of(lambda: Store.open(path, busy_timeout_seconds=0), path)
    assert "locked by another process" in message
    assert message.endswith("try again when it finishes")


@pytest.mark.parametrize("read_only", [False, True])
def test_a_directory_that_does_not_exist(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "missing" / "governor.db"
    message = message_of(lambda: Store.open(path, read_only=read_only), path)
    assert f"directory {path.parent} does not exist" in message
    assert not path.parent.exists()


WRITES: dict[str, Callable[[Store], object]] = {
    "start_run": lambda store: store.call(history.start_run, "audit", at(1)),
    "record_snapshot": lambda store: store.call(history.record_snapshot, 2, snapshot(), at(1)),
    "record_findings": lambda store: store.call(
        history.record_findings, 2, [], snapshot(), [], at(1)
    ),
    "finish_run": lambda store: store.call(
        history.finish_run, 2, finished_at=at(1), complete=True, requests=0, errors=[]
    ),
    "fail_run": lambda store: store.call(history.fail_run, 2, finished_at=at(1), reason="x"),
    "abandon_unfinished_runs": lambda store: store.call(
        history.abandon_unfinished_runs, now=at(1), reason="x"
    ),
    "suppress": lambda store: store.call(history.suppress, 1, actor="a", reason="r", now=at(1)),
    "unsuppress": lambda store: store.call(history.unsuppress, 2, actor="a", reason="r", now=at(1)),
    "audit": lambda store: store.call(audit_log.record, "e", "s", {}, actor="a"),
}
READS: dict[str, Callable[[Store], object]] = {
    "run_record": lambda store: store.call(history.run_record, 1),
    "runs": lambda store: store.call(history.latest_runs),
    "findings": lambda store: store.call(history.findings),
    "finding": lambda store: store.call(history.finding, 1),
    "resources": lambda store: store.call(resource_rows.listed),
    "audit_log": lambda store: store.call(audit_log.entries),
    "migrations_applied": lambda store: store.call(applied_migrations),
}


@pytest.fixture
def read_only_store(tmp_path: Path) -> Iterator[tuple[Store, Path]]:
    """A store opened read-only on a populated file (how report-only commands open it)."""
    path = tmp_path / "governor.db"
    populated(path)  # run 1 finished, findings 1 and 2 open
    with Store.open(path) as store:
        store.call(history.start_run, "daemon", T0)  # run 2 is still running
        store.call(history.suppress, 2, actor="alice", reason="demo", now=T0)
    with second_connection(path) as connection:
        connection.execute("CREATE TABLE placeholder (x)")
        connection.execute("INSERT INTO placeholder VALUES (1)")
    with Store.open(path, read_only=True) as store:
        yield store, path


@pytest.mark.parametrize("method", sorted(WRITES))
def test_a_store_opened_read_only_refuses_every_write_in_one_line(
    read_only_store: tuple[Store, Path], method: str
) -> None:
    store, path = read_only_store
    before = store.call(audit_log.entries)
    message = message_of(lambda: WRITES[method](store), path)
    assert "opened read-only, so it cannot be written" in message
    assert store.call(audit_log.entries) == before
    assert store.call(history.run_record, 2).status == "running"


@pytest.mark.parametrize("method", sorted({**WRITES, **READS}))
def test_every_method_of_a_closed_store_says_it_is_closed(tmp_path: Path, method: str) -> None:
    path = tmp_path / "governor.db"
    store = Store.open(path)
    store.close()
    message = message_of(lambda: {**WRITES, **READS}[method](store), path)
    assert message == f"{path}: the store is closed"


# Permissions, where file modes bind -----------------------------------------------------


def try_to_write(path: Path, guarded: Path) -> str:
    """Open and write; the StoreError's message, or why there is none."""
    if os.access(guarded, os.W_OK):
        return "UNENFORCED"  # this user may write there anyway
    try:
        with Store.open(path) as store:
            store.call(history.start_run, "audit", T0)
    except StoreError as error:
        return f"StoreError {error}"
    return "OK"


def as_unprivileged(scenario: Callable[[], str]) -> str:
    """Run ``scenario`` here, or, as root, in a forked child that became ``nobody``.

    A fork, not a new interpreter: the child needs no access to the Python binary (which
    may live under /root), only to the store's files.
    """
    if os.geteuid() != 0:
        return scenario()
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no 'nobody' user to drop to")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report on the pipe, never return into pytest
        try:
            os.close(read_end)
            try:
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            except OSError as error:
                os.write(write_end, f"CANNOT-DROP {error}".encode())
            else:
                os.write(write_end, scenario().encode())
        except BaseException as error:
            os.write(write_end, f"CRASHED {type(error).__name__}: {error}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        ready, _, _ = select.select([pipe], [], [], CHILD_SECONDS)
        if not ready:  # a lock some other thread held at the fork, say: never hang the run
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the unprivileged child gave no answer in {CHILD_SECONDS} s")
        output = pipe.read().decode()
    os.waitpid(pid, 0)
    if output.startswith("CANNOT-DROP"):
        pytest.skip(f"running as root and cannot become 'nobody': {output}")
    return output


def refused(path: Path, guarded: Path) -> str:
    output = as_unprivileged(lambda: try_to_write(path, guarded))
    if output == "UNENFORCED":
        pytest.skip(f"file modes do not stop this user from writing {guarded}")
    assert output.startswith("StoreError "), output
    message = output.removeprefix("StoreError ")
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    return message


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory ``nobody`` can reach (root's tmp_path is not)."""
    directory = Path(tempfile.mkdtemp(prefix="governor-store-test-"))
    directory.chmod(0o777)
    try:
        yield directory
    finally:
        for child in [directory, *directory.rglob("*")]:
            child.chmod(0o777)
        shutil.rmtree(directory)


def test_a_read_only_file_cannot_be_written(shared_dir: Path) -> None:
    path = shared_dir / "governor.db"
    Store.open(path).close()
    path.chmod(0o444)
    assert "cannot write: the file is read-only" in refused(path, guarded=path)


def test_a_new_file_in_a_read_only_directory_cannot_be_made(shared_dir: Path) -> None:
    directory = shared_dir / "locked"
    directory.mkdir()
    directory.chmod(0o555)
    path = directory / "governor.db"
    assert f"its directory {directory} is read-only" in refused(path, guarded=directory)


def test_a_file_in_a_read_only_directory_has_nowhere_for_its_wal(shared_dir: Path) -> None:
    directory = shared_dir / "locked"
    directory.mkdir()
    path = directory / "governor.db"
    Store.open(path).close()
    path.chmod(0o666)
    directory.chmod(0o555)
    message = refused(path, guarded=directory)
    assert f"its directory {directory} is read-only" in message
    assert "-wal and -shm" in message
