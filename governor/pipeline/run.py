"""A run row that is always finished: completed, marked failed with the reason, or cancelled.

Why a context manager: before it, an exception between ``start_run`` and ``finish_run``
left the row open for ever, and the next reader could not tell a crash from a run still
going. A process killed outright (SIGKILL) still leaves one; the daemon marks those
abandoned at start (``history.abandon_unfinished_runs``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from governor.pipeline.stages import Clock
from governor.store import RunRecord, Store, StoreError, history

MAX_REASON_CHARS = 500
logger = logging.getLogger("governor.pipeline")


@dataclass
class RunHandle:
    run_id: int
    trigger: str
    store: Store = field(repr=False)
    clock: Clock = field(repr=False)
    record: RunRecord | None = None
    finished_at: datetime | None = None

    async def finish(
        self, *, complete: bool, requests: int, errors: list[dict[str, Any]]
    ) -> RunRecord:
        self.finished_at = self.clock()
        self.record = await self.store.run(
            history.finish_run,
            self.run_id,
            finished_at=self.finished_at,
            complete=complete,
            requests=requests,
            errors=errors,
        )
        return self.record


@asynccontextmanager
async def recorded_run(store: Store, trigger: str, clock: Clock) -> AsyncIterator[RunHandle]:
    """Start a run; on leaving, it is finished (by ``handle.finish``) or marked failed."""
    run_id = await store.run(history.start_run, trigger, clock())
    handle = RunHandle(run_id, trigger, store, clock)
    try:
        yield handle
    except BaseException as error:
        # cancelled: a stop abandoned it (the daemon cancels only sweeps, which only read)
        status: Literal["failed", "cancelled"] = (
            "cancelled" if isinstance(error, asyncio.CancelledError) else "failed"
        )
        try:
            await asyncio.shield(
                store.run(
                    history.fail_run,
                    run_id,
                    finished_at=clock(),
                    reason=failure_reason(error),
                    status=status,
                )
            )
        except StoreError as store_error:  # the first error is the one that matters
            logger.error("run %d: could not be marked failed: %s", run_id, store_error)
        raise
    if handle.record is None:
        await store.run(
            history.fail_run,
            run_id,
            finished_at=clock(),
            reason="the run ended without being finished",
        )


def failure_reason(error: BaseException) -> str:
    """One line naming the error; messages are already free of secrets (client, store)."""
    if isinstance(error, asyncio.CancelledError):
        return "cancelled (shutdown or timeout)"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    text = " ".join(str(error).split()) or "no message"
    line = f"{type(error).__name__}: {text}"
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1] + "…"
