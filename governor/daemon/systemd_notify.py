"""sd_notify(3) without libsystemd: one datagram to ``$NOTIFY_SOCKET``.

Why our own ~20 lines: the protocol is a unix datagram of ``KEY=value`` lines; the packages
that wrap it either swallow every error or need a C build. Outside systemd (no
``NOTIFY_SOCKET``) every call is a no-op, so the daemon runs the same from a shell.
"""

from __future__ import annotations

import logging
import os
import socket

logger = logging.getLogger("governor.daemon")


def notify(*lines: str) -> bool:
    """Send ``lines`` (``READY=1``, ``STATUS=...``); False when not under systemd or it failed.

    Never blocks: a listener that does not read (a full queue) loses the message.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # the abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)  # called on the event loop: a full queue drops, never waits
            sock.connect(address)
            sock.sendall("\n".join(lines).encode())
    except OSError as error:
        logger.warning("could not notify systemd at %s: %s", address.lstrip("\0"), error)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between watchdog pings (half of ``WATCHDOG_USEC``), or None when unset."""
    text = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID")
    if not text.isdigit() or int(text) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(text) / 1_000_000 / 2
