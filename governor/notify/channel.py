"""What the product tells people and asks them, as one seam: ``PeopleChannel``.

Why one protocol for reports, notices, approval requests and outcomes: a second channel
(email, Teams, a webhook) implements one thing and is registered in the runtime, and the
commands and the daemon talk to whichever channels the runtime built, never to Slack by
name. A channel only tells, asks and renders: every decision it relays goes through
``remediate.decisions`` (it never writes remediation rows). Keep requests ride on the run
report (Slack's Keep buttons, the log's ``neon-governor keep`` line).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from governor.notify.documents import Digest
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.cycle import NoticeSink
from governor.remediate.execute import Outcome
from governor.remediate.plan import PlanItem
from governor.store.remediations import RemediationRecord


class PeopleChannel(Protocol):
    async def run_finished(self, result: AuditResult) -> None:
        """The run's report (and what people may keep); never raises for delivery."""
        ...

    def notices(self, policies: Iterable[Policy]) -> NoticeSink:
        """Where a pass's notices before acting go (one message per pass)."""
        ...

    async def request(self, records: Sequence[RemediationRecord]) -> list[int]:
        """Ask for approval of ``records``; returns the ids asked."""
        ...

    async def update(self, record: RemediationRecord, status: str, detail: str) -> None:
        """Show what became of a request (approved, rejected, kept, expired, ...)."""
        ...

    async def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Tell how the remediations it asked about ended."""
        ...

    async def digest(self, digest: Digest) -> list[str]:
        """Deliver (enqueue) an owner's digest to the contacts this channel handles; returns
        where it went (``["slack:C0123"]``, ``["email"]``; empty: no contact here)."""
        ...


class Channels:
    """Every channel the runtime built (the log first, then Slack when configured), as one.

    Each call goes to every channel in order; notices report the first channel that took
    them beyond the log (``"slack"``), so the audit log says where people read them.
    """

    def __init__(self, channels: Sequence[PeopleChannel]) -> None:
        self.channels = list(channels)

    async def run_finished(self, result: AuditResult) -> None:
        for channel in self.channels:
            await channel.run_finished(result)

    def notices(self, policies: Iterable[Policy]) -> NoticeSink:
        chosen = list(policies)
        sinks = [channel.notices(chosen) for channel in self.channels]

        async def announce(notices: Sequence[tuple[PlanItem, str]]) -> str | None:
            via = None
            for sink in sinks:
                went = await sink(notices)
                via = via or went
            return via

        return announce

    async def request(self, records: Sequence[RemediationRecord]) -> list[int]:
        asked: set[int] = set()
        for channel in self.channels:
            asked.update(await channel.request(records))
        return sorted(asked)

    async def update(self, record: RemediationRecord, status: str, detail: str) -> None:
        for channel in self.channels:
            await channel.update(record, status, detail)

    async def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        for channel in self.channels:
            await channel.outcomes(outcomes)

    async def digest(self, digest: Digest) -> list[str]:
        went: list[str] = []
        for channel in self.channels:
            went.extend(await channel.digest(digest))
        return went
