"""Ending well: an executor that claims nothing once the daemon stops, and --once's flush.

Why a subclass here and not a flag in the executor: only the daemon has a stop, and the
check belongs right before each claim (``execute_one`` of an unclaimed row). A mutation
already claimed runs to its end (the shutdown waits for it, up to ``shutdown_grace``);
every row not yet claimed keeps its state (planned or approved) for the next start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from governor.remediate.execute import Executor, Outcome
from governor.slack.service import SlackService
from governor.store.remediations import RemediationRecord

logger = logging.getLogger("governor.daemon")
NOT_STARTED = "not started: the daemon is stopping"
FLUSH_SECONDS = 30.0  # as long as ``audit`` waits for Slack


def _never() -> bool:
    return False


def _forget(remediation_id: int) -> None:
    _ = remediation_id


@dataclass(frozen=True)
class StoppableExecutor(Executor):
    """``declined`` hears of each row left unstarted, so a reload's next generation can
    start it once this pass has ended (the row keeps its state meanwhile)."""

    stopping: Callable[[], bool] = _never
    declined: Callable[[int], None] = _forget

    async def execute_one(self, record: RemediationRecord, *, claimed: bool = False) -> Outcome:
        if not claimed and self.stopping():
            self.declined(record.id)
            return self._outcome(record, record.state, NOT_STARTED)
        return await super().execute_one(record, claimed=claimed)


async def flush_outbox(slack: SlackService, deadline_seconds: float = FLUSH_SECONDS) -> bool:
    """``run --once``: send what the pass queued, as ``audit`` does; the rest waits."""
    try:
        flushed = await slack.sender().flush(deadline_seconds=deadline_seconds)
    except Exception:  # Slack's trouble never fails the pass; the outbox keeps the messages
        logger.exception("sending the Slack outbox failed; its messages wait in the store")
        return False
    if not flushed:
        logger.warning(
            "Slack did not take every message within %.0f s; they wait in the store's outbox "
            "and go out with the next audit or the daemon",
            deadline_seconds,
        )
    return flushed
