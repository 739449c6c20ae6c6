"""Which failures of a call get another attempt: Neon's own guidance, as values.

Why values and not rules inside the loop: the remediation executor wants a mutation that
reports a 423 at once (``MUTATION_NO_LOCKED_RETRY``), so it can reschedule the work
instead of holding a slot while the project's operations run.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Literal

import httpx

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Raised before any byte of the request was sent: safe to retry even a mutation.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# A name that does not resolve stays so for the next 30 s: a typo in the URL, or no
# network at all. Only the resolver's "try again" (EAI_AGAIN) gets one more attempt.
DNS_RETRIED_ERRORS = frozenset({socket.EAI_AGAIN})
DNS_MAX_ATTEMPTS = 2


def dns_failure(error: BaseException) -> socket.gaierror | None:
    """The resolver's error behind ``error`` (httpx wraps it twice), or None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, socket.gaierror):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def attempts_for(error: httpx.RequestError, max_attempts: int) -> int:
    """How many tries ``error`` may have: DNS failures fail fast (once, or twice for
    EAI_AGAIN), everything else up to the client's ``max_attempts``."""
    dns = dns_failure(error)
    if dns is None:
        return max_attempts
    return min(max_attempts, DNS_MAX_ATTEMPTS if dns.errno in DNS_RETRIED_ERRORS else 1)


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures of one call get another attempt (up to the client's ``max_attempts``).

    ``statuses``: answered statuses retried, 423 aside; ``locked``: whether 423 (running
    operations) is retried; ``transport``: transport errors retried ``"always"`` or only
    when nothing was sent (``"unsent"``).
    """

    statuses: frozenset[int]
    locked: bool = True
    transport: Literal["always", "unsent"] = "unsent"

    def __post_init__(self) -> None:
        if 423 in self.statuses:
            raise ValueError("423 is governed by locked=, not statuses=")

    def retries_status(self, status: int) -> bool:
        return status in self.statuses or (status == 423 and self.locked)

    def retries_failure(self, error: httpx.RequestError) -> bool:
        return self.transport == "always" or isinstance(error, NOT_SENT_ERRORS)


READ_RETRY = RetryPolicy(frozenset({429, 500, 502, 503, 504, 524}), transport="always")
MUTATION_RETRY = RetryPolicy(frozenset({429, 503}), transport="unsent")
MUTATION_NO_LOCKED_RETRY = RetryPolicy(MUTATION_RETRY.statuses, locked=False, transport="unsent")


def default_retry(method: str) -> RetryPolicy:
    return READ_RETRY if method.upper() in READ_METHODS else MUTATION_RETRY
