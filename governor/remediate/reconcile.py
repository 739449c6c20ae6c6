"""After a crash: finish every remediation a dead process left half-done, sending nothing twice.

Only rows whose owner is provably dead are touched (``ownership.judge``): another
``apply``, the daemon, or an older daemon generation of this very process may be working
on a row right now, and taking it over would send its mutation a second time. Those rows
are left alone and reported as such. Taking over is a compare-and-set on the owner, so two
reconciles never both take the same row, and the old owner, were it alive after all,
loses its next journal write and stops (see ``execute``).

What the journal says decides what is safe (see ``execute``):
- ``executing`` without an intent: nothing was sent; it ends ``skipped`` (the next plan
  proposes it again if it still applies).
- ``executing`` with an intent but no journaled answer: the request may have reached Neon,
  or may still be on its way (Neon slow under load). Nothing is decided before the
  intent's deadline has passed; then operations on the resource since the intent are
  adopted and followed, a change already in effect succeeds, and only a change provably
  not in effect (no operations, resource unchanged) is re-checked and sent, as if for the
  first time.
- ``waiting_operations``: its operations are followed to the end, then the resource read.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from governor.remediate.execute import (
    Executor,
    Outcome,
    find_operations,
    lane_of,
    send_bounds,
    send_deadline,
    wait_seconds,
)
from governor.remediate.ownership import holding, judge
from governor.store import remediations
from governor.store.encoding import decode_time
from governor.store.remediations import RemediationRecord

logger = logging.getLogger(__name__)


async def reconcile(executor: Executor) -> list[Outcome]:
    """Bring every remediation a dead process left to a terminal state (one at a time);
    a row another live process holds is reported and left to it."""
    unfinished = await executor.store.run(
        remediations.listed, states=["executing", "waiting_operations"]
    )
    outcomes = []
    for record in sorted(unfinished, key=lambda r: (lane_of(r), r.id)):
        verdict = judge(record.owner)
        if verdict.status != "dead":
            outcomes.append(executor.untouched(record, f"left alone: {verdict.why}", held=True))
            continue
        with holding() as holder:
            taken = await executor.store.run(
                remediations.take_over,
                record.id,
                state=record.state,
                owner_was=record.owner,
                owner=holder.encode(),
                now=executor.clock(),
                actor=executor.actor,
                reason=f"reconcile: {verdict.why}",
            )
            if taken is None:
                outcomes.append(
                    executor.untouched(record, "left alone: another process settled it first")
                )
                continue
            logger.info("remediation %s taken over: %s", record.id, verdict.why)
            outcomes.append(await _settle(executor, taken))
    return outcomes


async def _settle(executor: Executor, record: RemediationRecord) -> Outcome:
    if record.state == "waiting_operations":
        return await executor.finish(record)
    if record.intent_at is None:
        return await executor.end(
            record, "skipped", "interrupted before anything was sent; planned again if still due"
        )
    client = executor.client_for(record)
    await _wait_until_it_cannot_land(executor, record)
    adopted = await find_operations(client, record, since=decode_time(record.intent_at))
    if adopted:
        return await executor.follow_from(record, adopted, reason="adopted after a restart")
    if record.change.applied(await record.change.current_values(client, record)):
        return await executor.end(record, "succeeded", "in effect (found after a restart)")
    return await executor.execute_one(record, claimed=True)


async def _wait_until_it_cannot_land(executor: Executor, record: RemediationRecord) -> None:
    """Wait (on the client's pacer clock) until the journaled request's deadline passed.

    A deadline further ahead than one whole send from now cannot be a real one (a clock
    that jumped, an edited row): the wait is capped there.
    """
    client = executor.client_for(record)
    deadline = send_deadline(client, record)
    if deadline is None:
        return
    window, margin = send_bounds(client)
    remaining = (deadline - executor.clock()).total_seconds()
    remaining = min(remaining, timedelta(seconds=window + margin).total_seconds())
    if remaining <= 0:
        return
    logger.info(
        "remediation %s: its request may still reach Neon; looking in %.0f s",
        record.id,
        remaining,
    )
    await wait_seconds(client, remaining)
