"""Following the operations one mutation started, until Neon is done with them.

Why not a plain wait that raises: a remediation must not call ``failed`` a failure while
Neon is still going to retry it (``retry_at`` ahead), must record progress as it goes (a
restart picks up from the store), and must end in an outcome, not raise.
The outcome of the remediation itself is decided afterwards by re-reading the resource.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from governor.neon.client import NeonClient
from governor.neon.errors import NeonError
from governor.neon.models import Operation


@dataclass(frozen=True)
class Followed:
    operations: list[Operation]
    outcome: Literal["succeeded", "failed", "timed_out"]
    error: str | None = None


async def follow_operations(
    client: NeonClient,
    operations: Sequence[Operation],
    *,
    timeout_seconds: float,
    now: Callable[[], datetime],
    on_progress: Callable[[list[Operation]], Awaitable[None]] | None = None,
    poll_initial: float = 0.5,
    poll_max: float = 5.0,
) -> Followed:
    """Poll until every operation is final (see ``Operation.final``) or the time is up.

    Uses the client's pacer clock and sleep, so tests drive it in virtual time. A read
    that fails is retried at the next poll; only the timeout ends the wait early.
    """
    clock, sleep = client.pacer.clock, client.pacer.sleep
    deadline = clock() + timeout_seconds
    order = [operation.id for operation in operations]
    latest = {operation.id: operation for operation in operations}
    interval = poll_initial
    while True:
        moment = now()
        pending = [latest[key] for key in order if not latest[key].final(moment)]
        if not pending:
            break
        remaining = deadline - clock()
        if remaining <= 0:
            return Followed(
                [latest[key] for key in order],
                "timed_out",
                f"{len(pending)} operation(s) still not done after {timeout_seconds:g} s: "
                + ", ".join(f"{op.action} {op.id} ({op.status})" for op in pending),
            )
        await sleep(min(interval, remaining))
        interval = min(poll_max, interval * 2)
        fresh = await asyncio.gather(
            *(client.get_operation(op.project_id, op.id) for op in pending),
            return_exceptions=True,
        )
        changed = False
        for operation in fresh:
            if isinstance(operation, Operation):
                changed = changed or latest[operation.id].status != operation.status
                latest[operation.id] = operation
            elif not isinstance(operation, NeonError):
                raise operation
        if changed and on_progress is not None:
            await on_progress([latest[key] for key in order])
    final = [latest[key] for key in order]
    failed = [op for op in final if not op.succeeded]
    if failed:
        return Followed(
            final,
            "failed",
            "; ".join(
                f"{op.action} {op.id} {op.status}" + (f": {op.error}" if op.error else "")
                for op in failed
            ),
        )
    return Followed(final, "succeeded")
