"""A daemon subprocess against an in-process simulator, a notify socket the test binds.

Everything waits by polling what the daemon leaves behind (store rows, notify datagrams,
log lines) with generous deadlines; nothing sleeps and hopes.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

POLICIES = """\
- name: never-suspending
  resource: endpoint
  severity: low
  filters:
    - suspend_timeout_seconds: -1
  schedule: "2s"
- name: every-branch
  resource: branch
  filters:
    - default: false
"""
SIM_KEY = "sim-personal-key"
DEADLINE = 60.0  # far above what any step takes, even on a busy 2-core machine


def write_config(
    folder: Path,
    api_url: str,
    *,
    concurrency: int = 4,
    metrics_listen: str = "",
    shutdown_grace: str = "3s",
    policies: str = POLICIES,
    extra: str = "",
) -> Path:
    (folder / "policies.yaml").write_text(policies)
    config = folder / "config.toml"
    config.write_text(
        f"""
[neon]
api_url = "{api_url}"
api_key_env = "DAEMON_TEST_KEY"
concurrency = {concurrency}
[store]
path = "{folder / "governor.db"}"
[policies]
paths = ["policies.yaml"]
[daemon]
jitter = "0s"
shutdown_grace = "{shutdown_grace}"
[metrics]
listen = "{metrics_listen}"
[log]
format = "text"
{extra}"""
    )
    return config


def free_loopback_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class NotifySocket:
    """A datagram socket in the abstract namespace, as systemd's NOTIFY_SOCKET is.

    A thread reads it all the time, as systemd does: a full queue would drop messages.
    """

    def __init__(self) -> None:
        self.name = f"@neon-governor-test-{uuid.uuid4().hex}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name[1:])
        self.sock.settimeout(0.2)
        self.messages: list[str] = []
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    def lines(self) -> list[str]:
        return [line for message in list(self.messages) for line in message.splitlines()]

    def wait_for(self, line: str, timeout: float = DEADLINE) -> None:
        wait_until(lambda: line in self.lines(), timeout, f"{line!r} on NOTIFY_SOCKET")

    def close(self) -> None:
        self._closed.set()
        self._reader.join(timeout=5)
        self.sock.close()


@dataclass
class DaemonProcess:
    process: subprocess.Popen[bytes]
    log: Path
    notify: NotifySocket | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = DEADLINE) -> None:
        self.wait_until(lambda: text in self.log_text(), f"log line {text!r}", timeout)

    def wait_until(
        self, condition: Callable[[], bool], what: str, timeout: float = DEADLINE
    ) -> None:
        try:
            wait_until(condition, timeout, what)
        except AssertionError as error:
            if self.process.poll() is None:  # a stack dump of every thread, into the log
                self.process.send_signal(signal.SIGABRT)
                self.process.wait(timeout=30)
            raise AssertionError(
                f"{error}; the daemon's log ends:\n{self.log_text()[-3000:]}"
            ) from None

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def runs(db: Path) -> list[dict[str, Any]]:
    """The store's runs, read as another process would (WAL lets it while the daemon writes)."""
    if not db.exists():
        return []
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as connection:
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute("SELECT * FROM runs ORDER BY id")]
        except sqlite3.OperationalError:  # not migrated yet
            return []


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path, *args: str, notify: bool = True) -> DaemonProcess:
        log = tmp_path / f"daemon-{len(started)}.log"
        socket_ = NotifySocket() if notify else None
        env = {
            **os.environ,
            "DAEMON_TEST_KEY": SIM_KEY,
            "WATCHDOG_USEC": "2000000",
            "PYTHONFAULTHANDLER": "1",
        }
        env.pop("WATCHDOG_PID", None)
        if socket_ is not None:
            env["NOTIFY_SOCKET"] = socket_.name
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "governor", "run", "--config", str(config), *args],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp_path,
            )
        daemon = DaemonProcess(process, log, socket_)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait(timeout=30)
        if daemon.notify is not None:
            daemon.notify.close()
