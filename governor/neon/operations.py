"""Waiting for the operations a mutation started.

Why: Neon applies a mutation only when its operations finish, and refuses (423) the next
mutation on the project until then. Statuses are an open set: only the known terminal
ones stop the wait, anything else (``cancelling``, values added later) keeps polling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from governor.neon.client import NeonClient
from governor.neon.errors import OperationFailed, OperationTimeout
from governor.neon.models import Operation

__all__ = ["OperationFailed", "OperationTimeout", "wait_for_operations"]


async def wait_for_operations(
    client: NeonClient,
    operations: Sequence[Operation],
    *,
    timeout_seconds: float = 300.0,
    poll_initial: float = 0.5,
    poll_max: float = 5.0,
) -> list[Operation]:
    """Poll until every operation is terminal; returns them in their final state.

    Raises ``OperationFailed`` (after all are terminal) when any failed, and
    ``OperationTimeout`` when some are still running after ``timeout_seconds``.
    Uses the client's clock and sleep, so tests run it in virtual time.
    """
    clock = client.pacer.clock
    sleep = client.pacer.sleep
    deadline = clock() + timeout_seconds
    latest: dict[str, Operation] = {operation.id: operation for operation in operations}
    order = [operation.id for operation in operations]
    interval = poll_initial
    while True:
        pending = [latest[key] for key in order if not latest[key].terminal]
        if not pending:
            break
        remaining = deadline - clock()
        if remaining <= 0:
            raise OperationTimeout(pending, [latest[key] for key in order], timeout_seconds)
        await sleep(min(interval, remaining))
        fresh = await asyncio.gather(
            *(client.get_operation(operation.project_id, operation.id) for operation in pending)
        )
        for operation in fresh:
            latest[operation.id] = operation
        interval = min(poll_max, interval * 2)
    final = [latest[key] for key in order]
    failed = [operation for operation in final if operation.failed]
    if failed:
        raise OperationFailed(failed, final)
    return final
