"""Which failures of a call get another attempt: Neon's own guidance, as values.

Why values and not rules inside the loop: the remediation executor wants a mutation that
reports a 423 at once (``MUTATION_NO_LOCKED_RETRY``), so it can reschedule the work
instead of holding a slot while the project's operations run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import httpx

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Raised before any byte of the request was sent: safe to retry even a mutation.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


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
