"""The store's daemon lock, and sd_notify datagrams on a path or abstract socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from governor.daemon.errors import DaemonAlreadyRunning
from governor.daemon.lock import DaemonLock, read_holder
from governor.daemon.systemd_notify import notify, watchdog_interval
from governor.exit_codes import ExitCode, exit_code_for
from governor.store import StoreError
from tests.daemon.conftest import write_config

SINCE = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)


def test_a_second_lock_is_refused_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "governor.db"
    first = DaemonLock(db)
    first.acquire(now=SINCE)
    try:
        holder = read_holder(db)
        assert holder is not None
        assert (holder.pid, holder.since) == (os.getpid(), SINCE)
        with pytest.raises(DaemonAlreadyRunning) as refused:
            DaemonLock(db).acquire()
        assert f"pid {os.getpid()}" in str(refused.value)
        assert SINCE.isoformat() in str(refused.value)
        assert exit_code_for(refused.value) == ExitCode.USAGE
    finally:
        first.release()
    assert read_holder(db) is None
    assert DaemonLock(db).acquire().pid == os.getpid()  # free again


def test_a_lock_file_that_cannot_be_created_is_a_store_error_not_a_traceback(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create the daemon's lock file") as refused:
        DaemonLock(blocker / "governor.db").acquire()
    assert exit_code_for(refused.value) == ExitCode.USAGE

    config = write_config(tmp_path, "http://127.0.0.1:9")
    config.write_text(
        config.read_text().replace(str(tmp_path / "governor.db"), str(blocker / "g.db"))
    )
    ran = subprocess.run(
        [sys.executable, "-m", "governor", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "DAEMON_TEST_KEY": "sim-personal-key"},
    )
    assert ran.returncode == ExitCode.USAGE, ran.stderr
    assert "Traceback" not in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr


def test_a_killed_holder_leaves_a_file_but_no_holder(tmp_path: Path) -> None:
    db = tmp_path / "governor.db"
    script = (
        "import sys; from governor.daemon.lock import DaemonLock; "
        f"lock = DaemonLock({str(db)!r}); lock.acquire(); "
        "print('held', flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    holder = read_holder(db)
    assert holder is not None
    assert holder.pid == child.pid
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert (tmp_path / "governor.db.lock").read_text()  # the record stays behind
    assert read_holder(db) is None
    assert DaemonLock(db).acquire().pid == os.getpid()


def test_no_lock_file_means_no_holder(tmp_path: Path) -> None:
    assert read_holder(tmp_path / "nothing.db") is None


@pytest.mark.parametrize("abstract", [True, False])
def test_notify_sends_one_datagram(abstract: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tempfile.mkdtemp(dir="/tmp")  # a short path: unix socket paths are limited
    name = f"@governor-{uuid.uuid4().hex}" if abstract else f"{folder}/notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name[1:] if abstract else name)
        listener.settimeout(30)
        monkeypatch.setenv("NOTIFY_SOCKET", name)
        assert notify("READY=1", "STATUS=scheduling 2 jobs")
        assert listener.recv(4096) == b"READY=1\nSTATUS=scheduling 2 jobs"


def test_notify_is_a_no_op_outside_systemd_and_never_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not notify("READY=1")
    name = f"@governor-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name[1:])
        monkeypatch.setenv("NOTIFY_SOCKET", name)
        sent = [notify("WATCHDOG=1") for _ in range(5000)]  # nobody reads: the queue fills
    assert sent[0]
    assert not sent[-1]


def test_the_watchdog_interval_is_half_of_watchdog_usec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert watchdog_interval() == 1.0
    monkeypatch.setenv("WATCHDOG_PID", "1")  # meant for another process
    assert watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_USEC")
    assert watchdog_interval() is None
