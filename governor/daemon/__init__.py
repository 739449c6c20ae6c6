"""The long-running daemon: schedules, sweeps, background jobs, systemd, signals."""

from __future__ import annotations

from governor.daemon.daemon import Daemon
from governor.daemon.errors import DaemonAlreadyRunning
from governor.daemon.jobs import Job, JobContext, JobResult
from governor.daemon.lock import DaemonLock, LockHolder, read_holder

__all__ = [
    "Daemon",
    "DaemonAlreadyRunning",
    "DaemonLock",
    "Job",
    "JobContext",
    "JobResult",
    "LockHolder",
    "read_holder",
]
