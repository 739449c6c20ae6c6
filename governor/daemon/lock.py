"""One daemon per database: an exclusive ``flock`` on ``<db>.lock``, which names its holder.

Why flock and not the pid in the file alone: the kernel drops the lock when the process
dies, however it dies (SIGKILL included), so a stale file never blocks a restart, and a
reader can tell a live holder from a leftover file by trying to lock it. One-shot commands
ignore the lock and keep reading the store (WAL lets them).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from governor.daemon.errors import DaemonAlreadyRunning
from governor.store import StoreError


@dataclass(frozen=True)
class LockHolder:
    pid: int
    since: datetime
    hostname: str


def lock_path(db_path: str | Path) -> Path:
    return Path(f"{db_path}.lock")


class DaemonLock:
    """``acquire()`` takes the lock or raises ``DaemonAlreadyRunning``; ``release()`` drops it."""

    def __init__(self, db_path: str | Path) -> None:
        self.path = lock_path(db_path)
        self._file: IO[str] | None = None

    def acquire(self, *, now: datetime | None = None) -> LockHolder:
        try:
            handle = self.path.open("a+", encoding="utf-8")  # never truncate another's record
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise StoreError(
                f"cannot create the daemon's lock file {self.path}: {reason} "
                "(it sits next to [store] path; that folder must exist and be writable)"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _parse(_read(handle))
            handle.close()
            raise DaemonAlreadyRunning(_refusal(self.path, holder)) from None
        except BaseException:
            handle.close()
            raise
        holder = LockHolder(os.getpid(), now or datetime.now(UTC), socket.gethostname())
        handle.seek(0)
        handle.truncate()
        record = {"pid": holder.pid, "since": holder.since.isoformat(), "hostname": holder.hostname}
        handle.write(json.dumps(record))
        handle.flush()
        self._file = handle
        return holder

    def release(self) -> None:
        if self._file is None:
            return
        try:
            self._file.seek(0)
            self._file.truncate()  # a reader that races the unlock sees no holder, not us
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> DaemonLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def read_holder(db_path: str | Path) -> LockHolder | None:
    """The daemon holding the lock now, or None (no file, or nobody holds it)."""
    try:
        handle = lock_path(db_path).open(encoding="utf-8")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _parse(_read(handle))  # held exclusively: a daemon is running
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _read(handle: IO[str]) -> str:
    handle.seek(0)
    return handle.read(4096)


def _parse(text: str) -> LockHolder | None:
    try:
        data = json.loads(text)
        return LockHolder(int(data["pid"]), datetime.fromisoformat(data["since"]), data["hostname"])
    except (ValueError, KeyError, TypeError):
        return None  # held, but written by something else or mid-write


def _refusal(path: Path, holder: LockHolder | None) -> str:
    who = (
        f"pid {holder.pid} on {holder.hostname}, since {holder.since.isoformat()}"
        if holder is not None
        else "a process that left no record"
    )
    return f"another neon-governor daemon is running on this store ({who}); lock file {path}"
