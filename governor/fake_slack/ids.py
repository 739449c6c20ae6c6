"""Message timestamps and opaque IDs, shaped like Slack's.

Why its own clock: Slack's ``ts`` is both a message's ID and its time, unique per channel
and strictly increasing; two posts in the same microsecond must still get two IDs, and a
test may pin the clock to a fixed instant.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable


def ts_key(ts: str) -> tuple[int, int]:
    """'1700000000.000123' -> (1700000000, 123), for ordering; ValueError if malformed."""
    seconds, _, micros = ts.partition(".")
    if not seconds.isdigit() or (micros and not micros.isdigit()) or len(micros) > 6:
        raise ValueError(f"not a Slack timestamp: {ts!r}")
    return int(seconds), int(micros.ljust(6, "0") or "0")


class Ids:
    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._lock = threading.Lock()
        self._last_micros = 0
        self._serial = 0

    def ts(self) -> str:
        """A fresh ``ts``: the clock in microseconds, bumped to stay strictly increasing."""
        with self._lock:
            micros = max(int(self._now() * 1_000_000), self._last_micros + 1)
            self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def now(self) -> float:
        return self._now()

    def serial(self, prefix: str) -> str:
        """``F0FAKE00001``-style IDs: the prefix, then a counter (upper case, ≥ 9 chars)."""
        with self._lock:
            self._serial += 1
            number = self._serial
        return f"{prefix}0FAKE{number:05d}"

    @staticmethod
    def secret() -> str:
        return secrets.token_hex(12)

    @staticmethod
    def envelope_id() -> str:
        return str(uuid.uuid4())

    def trigger_id(self) -> str:
        """Slack's shape: '<epoch>.<team number>.<32 hex>'."""
        return f"{int(self._now())}.1000000001.{secrets.token_hex(16)}"
