"""Compose, deliver and record one digest per owner: the ``digest`` job and command.

Why the row comes first: ``digests.claim`` records the owner's digest for this tick in
one write step before any channel enqueues it, so a crash or restart inside the tick
finds the row and does not send it again (at most once per tick; a crash between the
row and the enqueue loses that one digest, never doubles it). Channels enqueue in their
own outboxes, which deliver once, in order, with retries.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from governor.config.owners import OwnerContact
from governor.digest.compose import (
    CONSOLE_URL,
    Approval,
    ApprovalKey,
    Previous,
    compose,
    is_worth_sending,
)
from governor.notify.documents import Digest
from governor.runtime import Runtime
from governor.store import Store
from governor.store import digests as digest_rows
from governor.store.records import StoredFinding

logger = logging.getLogger("governor.digest")
Verdict = Literal["sent", "would send", "nothing new", "already sent", "failed"]


class DigestChannel(Protocol):
    """What a digest needs of the channels: ``Channels.digest`` (every channel at once)."""

    async def digest(self, digest: Digest) -> list[str]: ...


@dataclass(frozen=True)
class Owner:
    """An owner to compose for: their contact (None: the default owner has no entry)."""

    name: str
    contact: OwnerContact | None

    @property
    def mentions(self) -> tuple[str, ...]:
        return tuple(self.contact.slack_users) if self.contact else ()

    @property
    def when_empty(self) -> bool:
        return bool(self.contact and self.contact.digest_when_empty)


@dataclass(frozen=True)
class DigestOutcome:
    owner: str
    digest: Digest
    verdict: Verdict
    channels: tuple[str, ...] = ()
    digest_id: int | None = None
    error: str | None = None


def owners_to_reach(
    contacts: Iterable[OwnerContact], default: str | None, only: str | None = None
) -> list[Owner]:
    """Every owner with a contact entry, then the default owner when it has none."""
    owners = [Owner(contact.name, contact) for contact in contacts]
    if default is not None and default not in {owner.name for owner in owners}:
        owners.append(Owner(default, None))
    if only is not None:
        owners = [owner for owner in owners if owner.name == only]
    return owners


def owners_for_runtime(runtime: Runtime, only: str | None = None) -> tuple[list[Owner], str | None]:
    """The owners ``[owners]`` (or the file it names) sets up, and the default owner."""
    owner_map = runtime.owner_map()
    return owners_to_reach(owner_map.owners, owner_map.default, only), owner_map.default


def outcome_counts(outcomes: Sequence[DigestOutcome]) -> dict[str, int]:
    """How many owners got each verdict, in a fixed order (for logs and job details)."""
    counts: Counter[str] = Counter(outcome.verdict for outcome in outcomes)
    order = ("sent", "would send", "nothing new", "already sent", "failed")
    return {verdict: counts[verdict] for verdict in order if counts[verdict]}


async def send_digests(
    store: Store,
    channels: DigestChannel,
    owners: Sequence[Owner],
    *,
    default: str | None,
    now: datetime,
    top: int,
    tick_start: datetime | None = None,
    dry_run: bool = False,
    console_url: str = CONSOLE_URL,
) -> list[DigestOutcome]:
    """One digest per owner in ``owners``; findings nobody owns go to ``default``.

    ``tick_start``: an owner with a digest recorded since then is not sent another (the
    daemon's tick, after a restart); ``dry_run``: composed, neither sent nor recorded.
    """
    stamped = await store.run(digest_rows.open_findings)
    waiting = await store.run(digest_rows.awaiting_approval)
    approvals: dict[ApprovalKey, Approval] = {
        key: Approval(remediation_id, token) for key, (remediation_id, token) in waiting.items()
    }
    by_owner = _group(stamped, default)
    outcomes: list[DigestOutcome] = []
    for owner in owners:
        previous_row = await store.run(digest_rows.latest, owner.name)
        previous = (
            Previous(previous_row.created_at, frozenset(previous_row.fingerprints))
            if previous_row is not None
            else None
        )
        closed = (  # resolved ones only: a finding kept (suppressed) since is no news
            [
                finding
                for finding, _ in await store.run(digest_rows.closed_with, previous.fingerprints)
                if finding.status == "resolved"
            ]
            if previous is not None
            else []
        )
        open_now = by_owner.get(owner.name, [])
        digest = compose(
            owner.name,
            open_now,
            closed,
            previous,
            now=now,
            top=top,
            mentions=owner.mentions,
            approvals=approvals,
            console_url=console_url,
        )
        if not is_worth_sending(digest, first=previous is None, when_empty=owner.when_empty):
            outcomes.append(DigestOutcome(owner.name, digest, "nothing new"))
            continue
        if dry_run:
            outcomes.append(DigestOutcome(owner.name, digest, "would send"))
            continue
        outcomes.append(
            await _deliver(store, channels, digest, open_now, now=now, tick_start=tick_start)
        )
    return outcomes


async def _deliver(
    store: Store,
    channels: DigestChannel,
    digest: Digest,
    open_now: Sequence[StoredFinding],
    *,
    now: datetime,
    tick_start: datetime | None,
) -> DigestOutcome:
    digest_id = await store.run(
        digest_rows.claim,
        owner=digest.owner,
        now=now,
        fingerprints=[finding.fingerprint for finding in open_now],
        findings=digest.open_count,
        new=digest.new_count,
        resolved=digest.resolved_count,
        total_usd=digest.total_usd,
        tick_start=tick_start,
    )
    if digest_id is None:
        return DigestOutcome(digest.owner, digest, "already sent")
    try:
        went = await channels.digest(digest)
    except Exception as error:  # one owner's channel failing never stops the others
        logger.exception("the digest of %s could not be queued", digest.owner)
        return DigestOutcome(
            digest.owner, digest, "failed", digest_id=digest_id, error=str(error)[:300]
        )
    await store.run(digest_rows.delivered, digest_id, went)
    return DigestOutcome(digest.owner, digest, "sent", tuple(went), digest_id)


def _group(
    stamped: Sequence[tuple[StoredFinding, str | None]], default: str | None
) -> Mapping[str, list[StoredFinding]]:
    """Open findings by owner; a finding nobody owns (stamped before owners were set up,
    or matched no rule) is the default owner's."""
    grouped: dict[str, list[StoredFinding]] = {}
    for finding, owner in stamped:
        name = owner if owner is not None else default
        if name is not None:
            grouped.setdefault(name, []).append(finding)
    return grouped
