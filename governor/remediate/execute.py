"""Carrying out remediations: claim, re-check, journal, send, follow, verify.

Why this order: the claim (compare-and-set to ``executing``) makes every remediation run
at most once whatever process races for it; the intent is journaled before the request
and the operations right after it, so a process killed at any instant leaves enough in
the store for ``reconcile`` to finish the job without sending the mutation twice; and the
outcome is decided by re-reading the resource, not by trusting an answer or re-sending.

The claim records its owner (``ownership``): this process and this executor. Every
journal write after it is a compare-and-set on state and owner; an executor whose write
lost (the row was moved away, or taken over by a reconcile that found it dead) sends
nothing more and records nothing as its own outcome. The intent carries a deadline: until
then the request may still reach Neon, so nobody looks for its effect before it passes.

One mutation at a time per project, until its operations finish (Neon answers 423 to a
second one); projects run in parallel within the client's shared rate budget. A 423
from operations someone else started is waited out. One resource that cannot be changed
never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from governor.config.remediation import RemediationSettings
from governor.model.changes import Change
from governor.neon.client import NeonClient
from governor.neon.errors import (
    NeonApiError,
    NeonError,
    NeonLocked,
    NeonServerError,
    NeonTransportError,
)
from governor.neon.models import Operation
from governor.neon.responses import Mutation
from governor.policy import Policy
from governor.remediate.follow import follow_operations
from governor.remediate.ownership import Holder, holding
from governor.remediate.recheck import clock_skip, recheck
from governor.store import Store, StoreError, realized, remediations
from governor.store.encoding import decode_time, encode_time
from governor.store.remediations import TRANSITIONS, RemediationRecord, RemediationState

logger = logging.getLogger(__name__)
MAX_SENDS = 3  # sends of one change that provably did not take effect (5xx, lost answer)
ADOPT_MARGIN = timedelta(minutes=5)  # operations this much older than the intent may be ours
SEND_WINDOW_CAP = 120.0  # seconds one send may take, retries included, before it is uncertain


class LostClaim(Exception):
    """The row this executor held was moved away or taken over: it stops at once."""


@dataclass(frozen=True)
class Outcome:
    remediation_id: int
    resource: str
    change: str
    state: str
    reason: str
    left_to: str | None = None  # a row left to the live process that holds it ("process N on H")

    def as_json(self) -> dict[str, Any]:
        document = {
            "remediation_id": self.remediation_id,
            "resource": self.resource,
            "change": self.change,
            "state": self.state,
            "reason": self.reason,
        }
        if self.left_to is not None:
            document["left_to"] = self.left_to
        return document


@dataclass(frozen=True)
class Executor:
    store: Store
    clients: Mapping[str, NeonClient]
    policies: Mapping[str, Policy]
    settings: RemediationSettings
    clock: Callable[[], datetime]
    actor: str = "governor"
    report: Callable[[Outcome], None] | None = None
    # Hears (change kind, terminal state) once per remediation this executor ends: the
    # daemon counts them in neon_governor_remediations_total (remediate imports no metrics).
    on_end: Callable[[str, str], None] | None = None

    def client_for(self, record: RemediationRecord) -> NeonClient:
        client = self.clients.get(record.account)
        if client is None:
            if len(self.clients) == 1:
                return next(iter(self.clients.values()))
            raise KeyError(f"no client for account {record.account!r}")
        return client

    async def run(self, records: Sequence[RemediationRecord]) -> list[Outcome]:
        """Execute ``records`` (planned or approved), one project at a time each."""
        lanes: dict[tuple[str, str], list[RemediationRecord]] = defaultdict(list)
        for record in records:
            lanes[lane_of(record)].append(record)
        gate = asyncio.Semaphore(self.settings.concurrency)
        outcomes: list[Outcome] = []

        async def lane(items: list[RemediationRecord]) -> None:
            async with gate:
                for record in items:
                    outcomes.append(await self.execute_one(record))

        await asyncio.gather(*(lane(items) for items in lanes.values()))
        return sorted(outcomes, key=lambda outcome: outcome.remediation_id)

    # One remediation ------------------------------------------------------------------

    async def execute_one(self, record: RemediationRecord, *, claimed: bool = False) -> Outcome:
        """Claim ``record`` and carry it out; ``claimed``: the caller holds it already
        (reconcile, after taking it over), and ``record.owner`` names the holder."""
        if claimed:
            return await self._carry_out(record)
        with holding() as holder:
            if await self.store.run(remediations.paused) is not None:
                return self._outcome(record, record.state, "paused: not started")
            moved = await self.store.run(
                remediations.move,
                record.id,
                expected=[record.state],
                to="executing",
                now=self.clock(),
                actor=self.actor,
                reason="re-checking before acting",
                changes={"owner": holder.encode()},
            )
            if moved is None:
                return self._outcome(record, record.state, "another process took it first")
            return await self._carry_out(moved)

    async def _carry_out(self, record: RemediationRecord) -> Outcome:
        try:
            return await self._execute(record)
        except LostClaim as lost:
            return self.lost(record, str(lost))
        except NeonError as error:  # a read that failed: nothing uncertain was sent
            return await self.end(record, "failed", f"Neon: {error}", error=error)

    async def _progress(
        self, record: RemediationRecord, state: RemediationState, changes: dict[str, Any]
    ) -> None:
        """Journal ``changes`` on a row this executor holds; LostClaim when it no longer does."""
        kept = await self.store.run(
            remediations.progress,
            record.id,
            state=state,
            now=self.clock(),
            changes=changes,
            owned_by=record.owner,
        )
        if not kept:
            raise LostClaim(f"moved away or taken over while {state}")

    async def _execute(self, record: RemediationRecord) -> Outcome:
        client = self.client_for(record)
        verdict = await recheck(
            client, record, policies=self.policies, settings=self.settings, now=self.clock()
        )
        if verdict.skip is not None:
            return await self.end(record, "skipped", verdict.skip)
        change = record.change
        deadline = client.pacer.clock() + self.settings.operation_timeout.total_seconds()
        window, margin = send_bounds(client)
        for round_ in range(MAX_SENDS):
            if await self.store.run(remediations.paused) is not None:
                return await self.end(record, "skipped", "paused before sending")
            if round_ > 0:  # the answers since the re-read (423s, operations) measured it anew
                skew = clock_skip(client, change, self.settings)
                if skew is not None:
                    return await self.end(record, "skipped", skew)
            intent_at = self.clock()
            lands_by = intent_at + timedelta(seconds=window + margin)
            await self._progress(  # nothing is sent unless this write is still ours
                record,
                "executing",
                {
                    "intent_at": encode_time(intent_at, what="intent_at"),
                    "send_deadline": encode_time(lands_by, what="send_deadline"),
                },
            )
            try:
                async with asyncio.timeout(window):  # else the deadline above would not hold
                    mutation = await change.send(client, record)
            except NeonLocked as error:
                if client.pacer.clock() >= deadline:
                    return await self.end(
                        record,
                        "failed",
                        "the project stayed locked by other operations",
                        error=error,
                    )
                await wait_unlocked(client, record.project_id, deadline, self.clock)
                continue
            except (NeonServerError, NeonTransportError, TimeoutError) as error:
                # The request may or may not have been applied, and may still be on its way
                # (Neon slow, a 524): wait until it can no longer land, then look.
                await wait_seconds(client, margin)
                adopted = await find_operations(client, record, since=intent_at)
                if adopted:
                    return await self.follow_from(record, adopted, reason=f"adopted after: {error}")
                if change.applied(await change.current_values(client, record)):
                    return await self.end(record, "succeeded", f"in effect (after: {error})")
                logger.warning(
                    "remediation %s: not in effect after %s; sending again", record.id, error
                )
                continue
            except NeonApiError as error:
                return await self.end(record, "failed", error.message, error=error)
            return await self._sent(record, change, mutation)
        return await self.end(record, "failed", f"not accepted after {MAX_SENDS} sends")

    async def _sent(
        self, record: RemediationRecord, change: Change, mutation: Mutation[Any]
    ) -> Outcome:
        if mutation.already_gone:
            return await self.end(record, "succeeded", "already gone (Neon answered 204)")
        recoverable = _recoverable_until(mutation)
        if recoverable is None and change.recoverable_for is not None:
            recoverable = encode_time(self.clock() + change.recoverable_for)
        if recoverable is not None:
            await self._progress(record, "executing", {"recoverable_until": recoverable})
        if change.synchronous is not None:
            return await self.end(record, "succeeded", change.synchronous)
        return await self.follow_from(record, mutation.operations, reason="sent")

    async def follow_from(
        self, record: RemediationRecord, operations: Sequence[Operation], *, reason: str
    ) -> Outcome:
        moved = await self.store.run(
            remediations.move,
            record.id,
            expected=["executing"],
            to="waiting_operations",
            now=self.clock(),
            actor=self.actor,
            reason=reason,
            changes={
                "sent_at": encode_time(self.clock(), what="sent_at"),
                "operations": [op.raw for op in operations],
            },
            details={"operations": [op.id for op in operations]},
            owned_by=record.owner,
        )
        if moved is None:
            return self.lost(record, "moved away or taken over before its operations")
        return await self.finish(moved)

    async def finish(self, record: RemediationRecord) -> Outcome:
        """Follow a ``waiting_operations`` remediation's operations, then decide by re-reading."""
        try:
            return await self._finish(record)
        except LostClaim as lost:
            return self.lost(record, str(lost))

    async def _finish(self, record: RemediationRecord) -> Outcome:
        client = self.client_for(record)
        change = record.change
        operations = [Operation.from_api(raw) for raw in record.operations]

        async def progress(latest: list[Operation]) -> None:
            await self._progress(
                record, "waiting_operations", {"operations": [op.raw for op in latest]}
            )

        followed = await follow_operations(
            client,
            operations,
            timeout_seconds=self.settings.operation_timeout.total_seconds(),
            now=self.clock,
            on_progress=progress,
        )
        await progress(followed.operations)
        if change.proven_by_operations is not None and followed.outcome == "succeeded":
            return await self.end(record, "succeeded", change.proven_by_operations)
        values = await change.current_values(client, record)
        if change.applied(values):
            return await self.end(record, "succeeded", "in effect (re-read)")
        why = followed.error or "the operations finished but the change is not in effect"
        return await self.end(record, "failed", why)

    async def end(
        self,
        record: RemediationRecord,
        state: RemediationState,
        reason: str,
        *,
        error: NeonError | None = None,
    ) -> Outcome:
        changes: dict[str, Any] = {}
        details: dict[str, Any] = {}
        if error is not None:
            changes["error"] = str(error)
            request_id = getattr(error, "request_id", None)
            if request_id:
                changes["request_id"] = request_id
                details["request_id"] = request_id
        expected: list[RemediationState] = ["executing", "waiting_operations"]
        moved = await self.store.run(
            remediations.move,
            record.id,
            expected=[s for s in expected if state in TRANSITIONS[s]],
            to=state,
            now=self.clock(),
            actor=self.actor,
            reason=reason,
            changes=changes,
            details=details,
            owned_by=record.owner,
        )
        if moved is None:
            return self.lost(record, f"moved away or taken over before it could end {state}")
        if state == "succeeded":  # the baseline its realized saving is measured against
            try:
                await self.store.run(realized.keep_baseline, moved, now=self.clock())
            except StoreError as failed:  # the change is done; only its measurement is lost
                logger.warning("remediation %s: baseline not kept: %s", moved.id, failed)
        if self.on_end is not None:
            self.on_end(moved.change.kind, state)
        return self._outcome(moved, state, reason)

    def lost(self, record: RemediationRecord, why: str) -> Outcome:
        """What an executor that no longer holds ``record`` reports: not an outcome of its
        own (the store keeps whatever its holder records), and nothing more was sent."""
        logger.warning("remediation %s: %s; this executor sends nothing more", record.id, why)
        return self._outcome(record, record.state, f"{why}; left to its holder, nothing more sent")

    def untouched(self, record: RemediationRecord, reason: str, *, held: bool = False) -> Outcome:
        """Report a row this executor leaves as it is; ``held``: its owner may still be
        working on it (the outcome names that process, so nobody reads it as finished)."""
        left_to = None
        if held:
            holder = None if record.owner is None else Holder.decode(record.owner)
            left_to = (
                "a process whose owner cannot be read"
                if holder is None
                else f"process {holder.pid} on {holder.host}"
            )
        return self._outcome(record, record.state, reason, left_to=left_to)

    def _outcome(
        self, record: RemediationRecord, state: str, reason: str, *, left_to: str | None = None
    ) -> Outcome:
        outcome = Outcome(
            record.id,
            f"{record.resource_type} {record.resource_id} ({record.resource_name})",
            record.change.request(
                project_id=record.project_id, resource_id=record.resource_id, org_id=record.org_id
            ),
            state,
            reason,
            left_to,
        )
        if self.report is not None:
            self.report(outcome)
        return outcome


def _recoverable_until(mutation: Mutation[Any]) -> str | None:
    """When Neon says a deleted branch stays recoverable (newer API versions do)."""
    resource = mutation.resource
    raw = getattr(resource, "raw", None)
    if not isinstance(raw, dict):
        return None
    recovery = raw.get("recovery")
    value = recovery.get("recoverable_until") if isinstance(recovery, dict) else None
    value = value or raw.get("recoverable_until")
    return str(value) if isinstance(value, str) and len(value) <= 64 else None


def send_bounds(client: NeonClient) -> tuple[float, float]:
    """``(window, margin)`` of one send, in seconds.

    Window: how long a send may run (every attempt and the waits between them, capped at
    SEND_WINDOW_CAP; a send cut off there is uncertain, like a lost answer). Margin: how
    long after the client stops waiting Neon may still act on a request it received (one
    attempt's timeout). The journaled deadline is the intent plus both.
    """
    timeout, attempts = client.timeout_seconds, client.max_attempts
    full = attempts * timeout + (attempts - 1) * client.backoff_cap_seconds
    return min(full, max(SEND_WINDOW_CAP, timeout)), timeout


def send_deadline(client: NeonClient, record: RemediationRecord) -> datetime | None:
    """Until when the journaled request of ``record`` may still land (None: no intent).

    A row journaled before deadlines were recorded gets this client's bound.
    """
    if record.intent_at is None:
        return None
    window, margin = send_bounds(client)
    latest = decode_time(record.intent_at) + timedelta(seconds=window + margin)
    if record.send_deadline is None:
        return latest
    return decode_time(record.send_deadline)


async def wait_seconds(client: NeonClient, seconds: float) -> None:
    """Sleep ``seconds`` on the client's pacer clock (virtual in tests)."""
    clock, target = client.pacer.clock, client.pacer.clock() + seconds
    for _ in range(1000):  # a sleep that keeps returning early must not spin forever
        if clock() >= target:
            return
        await client.pacer.sleep(target - clock())


def lane_of(record: RemediationRecord) -> tuple[str, str]:
    """Mutations in one lane run one after another: a project, or a key list."""
    if record.project_id and record.resource_type != "api_key":
        return (record.account, f"project:{record.project_id}")
    return (record.account, f"keys:{record.org_id or 'personal'}")


async def find_operations(
    client: NeonClient, record: RemediationRecord, *, since: datetime
) -> list[Operation]:
    """Operations on the resource that may come from a request whose answer was lost."""
    if not record.project_id or record.resource_type == "api_key":
        return []
    oldest = since - ADOPT_MARGIN
    found = []
    async for operation in client.iter_operations(record.project_id):
        if operation.created_at is not None and operation.created_at < oldest:
            break  # newest first: the rest are older
        target = (
            operation.endpoint_id if record.resource_type == "endpoint" else operation.branch_id
        )
        if target == record.resource_id:
            found.append(operation)
    return list(reversed(found))


async def wait_unlocked(
    client: NeonClient, project_id: str | None, deadline: float, now: Callable[[], datetime]
) -> None:
    """Wait while the project has operations that are not final (ours or Neon's own).

    ``deadline`` is on the client's pacer clock (virtual in tests).
    """
    if not project_id:
        return
    interval = 1.0
    while client.pacer.clock() < deadline:
        running = False
        recent = now() - timedelta(days=1)
        async for operation in client.iter_operations(project_id):
            if not operation.final(now()):
                running = True
                break
            if operation.created_at is not None and operation.created_at < recent:
                break
        if not running:
            return
        await client.pacer.sleep(min(interval, max(0.0, deadline - client.pacer.clock())))
        interval = min(interval * 2, 10.0)
