"""Failures a test can schedule: error answers, 429s with Retry-After, a Slack that is down.

Why a plan and not flags: retry code is only tested by "fail the next N calls, then
succeed", and by an outage that starts and ends while the client runs. The plan is
thread-safe so a test can change it while clients call the fake from other threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Literal

DownMode = Literal["refuse", "unavailable"]
ANY_METHOD = "*"


@dataclass(frozen=True)
class Failure:
    """The answer a call gets instead of its normal one: ``{"ok": false, "error": ...}``."""

    error: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Scheduled:
    method: str
    failure: Failure
    remaining: int | None  # None: until cleared


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scheduled: list[_Scheduled] = []
        self._down: DownMode | None = None

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int | None = 1,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any) answer ``error``;
        ``times=None`` keeps failing until ``clear()``. Slack sends most errors with
        HTTP 200, so that is the default."""
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for until cleared)")
        with self._lock:
            self._scheduled.append(
                _Scheduled(method, Failure(error, status, dict(headers or {})), times)
            )

    def rate_limit(self, method: str, *, times: int | None = 1, retry_after: int = 1) -> None:
        """Slack's rate limit: HTTP 429, ``Retry-After: <seconds>``, error ``ratelimited``."""
        self.fail(
            method,
            "ratelimited",
            times=times,
            status=429,
            headers={"Retry-After": str(retry_after)},
        )

    def take(self, method: str) -> Failure | None:
        """The failure due for this call, if any; counts it down (first scheduled wins)."""
        with self._lock:
            for entry in self._scheduled:
                if entry.method in (method, ANY_METHOD):
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining == 0:
                            self._scheduled.remove(entry)
                    return entry.failure
        return None

    def clear(self) -> None:
        with self._lock:
            self._scheduled.clear()

    def set_down(self, mode: DownMode | None) -> None:
        with self._lock:
            self._down = mode

    @property
    def down(self) -> DownMode | None:
        with self._lock:
            return self._down
