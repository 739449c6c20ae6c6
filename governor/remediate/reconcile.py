"""After a crash: finish every remediation a killed process left half-done, sending nothing twice.

What the journal says decides what is safe (see ``execute``):
- ``executing`` without an intent: nothing was sent; it ends ``skipped`` (the next plan
  proposes it again if it still applies).
- ``executing`` with an intent but no journaled answer: the request may have reached Neon.
  Operations on the resource since the intent are adopted and followed; a change already
  in effect succeeds; only a change provably not in effect (no operations, resource
  unchanged) is re-checked and sent, as if for the first time.
- ``waiting_operations``: its operations are followed to the end, then the resource read.
"""

from __future__ import annotations

from governor.remediate.changes import Change, applied
from governor.remediate.execute import (
    Executor,
    Outcome,
    current_values,
    find_operations,
    lane_of,
)
from governor.store.encoding import decode_time
from governor.store.remediations import RemediationRecord


async def reconcile(executor: Executor) -> list[Outcome]:
    """Bring every unfinished remediation to a terminal state (one lane at a time)."""
    unfinished = await executor.store.remediations.list(states=["executing", "waiting_operations"])
    outcomes = []
    for record in sorted(unfinished, key=lambda r: (lane_of(r), r.id)):
        outcomes.append(await _settle(executor, record))
    return outcomes


async def _settle(executor: Executor, record: RemediationRecord) -> Outcome:
    if record.state == "waiting_operations":
        return await executor.finish(record)
    if record.intent_at is None:
        return await executor.end(
            record, "skipped", "interrupted before anything was sent; planned again if still due"
        )
    client = executor.client_for(record)
    adopted = await find_operations(client, record, since=decode_time(record.intent_at))
    if adopted:
        return await executor.follow_from(record, adopted, reason="adopted after a restart")
    change = Change.from_json(record.change)
    if applied(change, await current_values(client, record)):
        return await executor.end(record, "succeeded", "in effect (found after a restart)")
    return await executor.execute_one(record, claimed=True)
