"""Who holds a remediation under way, and whether that holder can still act on it.

Why: crash reconcile must finish only what a dead process left. A row held by a live
process (another ``apply``, the daemon, an older daemon generation in this very process)
is that process's to finish; taking it over would send its mutation a second time. An
owner names the host, the boot (``/proc/sys/kernel/random/boot_id``), the pid, the
process's start time (so a reused pid is not taken for the holder) and a token for the
executor inside the process (so a second executor in the same process can tell).

Provably dead: same host, and another boot, or the pid gone (or a zombie, or started at
another time), or, in this process, an executor that has ended. A row with no owner was
claimed by a version that recorded none. Anything else is alive, or unknown (another
host, an owner that cannot be read): left alone.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_LIVE_TOKENS: set[str] = set()  # executors of this process that are still running


@dataclass(frozen=True)
class Holder:
    """One executor of one process; ``boot`` and ``started`` are "" where unknown."""

    host: str
    boot: str
    pid: int
    started: str
    token: str

    def encode(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Holder | None:
        try:
            raw = json.loads(text)
            return cls(
                host=str(raw["host"]),
                boot=str(raw["boot"]),
                pid=int(raw["pid"]),
                started=str(raw["started"]),
                token=str(raw["token"]),
            )
        except (ValueError, TypeError, KeyError):
            return None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


@dataclass(frozen=True)
class Verdict:
    """``dead``: safe to take over; ``alive``/``unknown``: left to its holder."""

    status: Literal["dead", "alive", "unknown"]
    why: str


@functools.cache
def boot_id() -> str:
    try:
        return BOOT_ID.read_text(encoding="ascii").strip()
    except OSError:
        return ""


def process_start(pid: int) -> tuple[str, str] | None:
    """``(state, start time in clock ticks since boot)`` of ``pid``; None when it is gone.

    ("", "") where /proc cannot say (not Linux): the pid alone then decides.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        return ("", "")
    fields = text[text.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses
    if len(fields) < 20:
        return ("", "")
    return (fields[0], fields[19])


def holder_of(pid: int, token: str) -> Holder:
    """The holder ``pid`` would be (this process, or another one a test points at)."""
    found = process_start(pid)
    return Holder(socket.gethostname(), boot_id(), pid, found[1] if found else "", token)


@contextmanager
def holding() -> Iterator[Holder]:
    """A fresh holder for one executor of this process, alive until the block ends."""
    holder = holder_of(os.getpid(), uuid.uuid4().hex)
    _LIVE_TOKENS.add(holder.token)
    try:
        yield holder
    finally:
        _LIVE_TOKENS.discard(holder.token)


def judge(owner: str | None) -> Verdict:
    """Whether the holder recorded in ``owner`` can still act (see the module docstring)."""
    if owner is None:
        return Verdict("dead", "claimed by a version that recorded no owner")
    holder = Holder.decode(owner)
    if holder is None:
        return Verdict("unknown", "its owner cannot be read")
    if holder.host != socket.gethostname():
        return Verdict("unknown", f"held by {holder.describe()}, another host")
    if holder.boot and boot_id() and holder.boot != boot_id():
        return Verdict("dead", f"{holder.describe()} ran before this machine restarted")
    if holder.pid == os.getpid() and _same_start(holder):
        if holder.token in _LIVE_TOKENS:
            return Verdict("alive", "held by another executor of this process")
        return Verdict("dead", "its executor in this process has ended")
    found = _probe(holder.pid)
    if found is None:
        return Verdict("dead", f"{holder.describe()} has exited")
    state, started = found
    if state in ("Z", "X"):
        return Verdict("dead", f"{holder.describe()} has exited")
    if holder.started and started and holder.started != started:
        return Verdict("dead", f"{holder.describe()} has exited (its pid was reused)")
    return Verdict("alive", f"held by {holder.describe()}, which is running")


def _same_start(holder: Holder) -> bool:
    found = process_start(holder.pid)
    return not holder.started or found is None or found[1] in ("", holder.started)


def _probe(pid: int) -> tuple[str, str] | None:
    """Like ``process_start``, but a pid /proc does not show is asked with signal 0."""
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # another user's process: it exists
    return process_start(pid) or ("", "")
