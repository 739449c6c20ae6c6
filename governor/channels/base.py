"""What webhook, email and Teams share: the config, the store, a clock, owner contacts.

Why a base with no-op defaults: each channel implements every ``PeopleChannel`` method
(the runtime calls them all), but supports only some; what it does not support does
nothing and returns ``[]`` where a list is asked. Channels only enqueue rows in
``deliveries``; ``governor.channels.outbox.DeliverySender`` sends them.
"""

from __future__ import annotations

import importlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from governor.config import Config
from governor.config.owners import OwnerContact
from governor.notify.documents import Digest
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.cycle import NoticeSink
from governor.remediate.execute import Outcome
from governor.remediate.plan import PlanItem
from governor.store import Store, deliveries, remediations
from governor.store.deliveries import DeliveryChannel
from governor.store.remediations import RemediationRecord

logger = logging.getLogger("governor.channels")
Contacts = Callable[[str], OwnerContact | None]
Clock = Callable[[], datetime]


def owner_contacts(config: Config, config_dir: Path | None = None) -> Contacts:
    """Who an owner is and where they read: ``[owners]`` (or the file it names, read by
    ``governor.owners`` when that is installed), by owner name."""
    inline = {contact.name: contact for contact in config.owners.owner}
    if config.owners.file:
        try:
            match: Any = importlib.import_module("governor.owners.match")
            owner_map = match.OwnerMap.from_settings(config.owners, config_dir or Path.cwd())
        except ModuleNotFoundError:
            pass
        else:

            def contact(name: str) -> OwnerContact | None:
                found = owner_map.contact(name)
                return found if isinstance(found, OwnerContact) else inline.get(name)

            return contact
    return inline.get


class OutboxChannel:
    """A ``PeopleChannel`` that supports nothing; subclasses enqueue what they support."""

    name: DeliveryChannel

    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        *,
        config_dir: Path | None = None,
        contacts: Contacts | None = None,
    ) -> None:
        self.config, self.store, self.clock = config, store, clock
        self.config_dir = config_dir
        self.contacts = contacts or owner_contacts(config, config_dir)

    async def enqueue(
        self, destination: str, kind: str, payload: dict[str, Any], *, ref: str | None = None
    ) -> int:
        return await self.store.run(
            deliveries.enqueue,
            channel=self.name,
            destination=destination,
            kind=kind,
            payload=payload,
            now=self.clock(),
            ref=ref,
        )

    async def remediation_counts(self, run_id: int) -> dict[str, int]:
        """This run's remediations by state (the store holds every run's)."""
        records = await self.store.run(remediations.listed)
        return dict(Counter(str(record.state) for record in records if record.run_id == run_id))

    # PeopleChannel, all no-ops ---------------------------------------------------------

    async def run_finished(self, result: AuditResult) -> None:
        _ = result

    def notices(self, policies: Iterable[Policy]) -> NoticeSink:
        chosen = {policy.name: policy for policy in policies}

        async def announce(notices: Sequence[tuple[PlanItem, str]]) -> str | None:
            if not notices:
                return None
            return await self.notice([item for item, _ in notices], chosen)

        return announce

    async def notice(self, items: Sequence[PlanItem], policies: dict[str, Policy]) -> str | None:
        """Queue one message for a pass's notices; the channel's name when it took them."""
        _ = items, policies
        return None

    async def request(self, records: Sequence[RemediationRecord]) -> list[int]:
        _ = records
        return []

    async def update(self, record: RemediationRecord, status: str, detail: str) -> None:
        _ = record, status, detail

    async def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        _ = outcomes

    async def digest(self, digest: Digest) -> list[str]:
        _ = digest
        return []


def owner_destination(owner: str) -> str:
    """An owner's own destination (``owner:<name>``): never mixed with the shared ones."""
    return f"owner:{owner}"
