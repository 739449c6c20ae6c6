"""The log as a channel to people: run reports, notices, approval requests and outcomes.

Why the log implements all of it: with no Slack set up, an approval request must still
reach someone, with the commands that decide it; a channel that only logged run reports
left ``apply``'s requests silent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from governor.notify.documents import Digest
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.cycle import NoticeSink
from governor.remediate.execute import Outcome
from governor.remediate.plan import PlanItem
from governor.store.remediations import RemediationRecord

logger = logging.getLogger("governor.notify")


class NullNotifier:
    """For one-shot commands that print their own report."""

    async def run_finished(self, result: AuditResult) -> None:
        _ = result


class LogNotifier:
    """The notice that a finding exists, for grace periods, when nothing else is set up."""

    def __init__(self, log: logging.Logger = logger) -> None:
        self._log = log

    async def run_finished(self, result: AuditResult) -> None:
        opened = sum(1 for finding in result.findings if finding.first_run_id == result.run_id)
        self._log.info(
            "run %d %s: %d findings (%d new), %d resolved, %d requests",
            result.run_id,
            "complete" if result.complete else "INCOMPLETE",
            len(result.findings),
            opened,
            len(result.resolved),
            result.requests,
        )
        if opened:  # what Slack asks with its Keep buttons
            self._log.info(
                "keep a resource out of the next plans: neon-governor keep TYPE ID --for 30d"
            )


class LogChannel:
    """A ``PeopleChannel`` over the log; always built, Slack or not.

    ``reports=False`` for one-shot commands, which print their own report: requests,
    notices and outcomes are still logged.
    """

    def __init__(self, log: logging.Logger = logger, *, reports: bool = True) -> None:
        self._log = log
        self._reports = LogNotifier(log) if reports else NullNotifier()

    async def run_finished(self, result: AuditResult) -> None:
        await self._reports.run_finished(result)

    def notices(self, policies: Iterable[Policy]) -> NoticeSink:
        _ = policies

        async def announce(notices: Sequence[tuple[PlanItem, str]]) -> str | None:
            for _item, text in notices:
                self._log.info("notice: %s", text)
            return None  # the log is where they go anyway: another channel may say more

        return announce

    async def request(self, records: Sequence[RemediationRecord]) -> list[int]:
        asked = []
        for record in records:
            if record.state != "awaiting_approval":
                continue
            until = f" before {record.approval_expires_at}" if record.approval_expires_at else ""
            self._log.info(
                "remediation %d awaiting approval: %s on %s %s (%s); decide%s with "
                "`neon-governor approve %d` or `neon-governor reject %d`",
                record.id,
                record.change.kind,
                record.resource_type,
                record.resource_name,
                record.resource_id,
                until,
                record.id,
                record.id,
            )
            asked.append(record.id)
        return asked

    async def update(self, record: RemediationRecord, status: str, detail: str) -> None:
        self._log.info("remediation %d %s%s", record.id, status, f": {detail}" if detail else "")

    async def outcomes(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            self._log.info(
                "remediation %d %s: %s on %s%s",
                outcome.remediation_id,
                outcome.state,
                outcome.change,
                outcome.resource,
                f" ({outcome.reason})" if outcome.reason else "",
            )

    async def digest(self, digest: Digest) -> list[str]:
        self._log.info(
            "digest for %s: %d open findings (%d new, %d resolved), $%.2f/month",
            digest.owner,
            digest.open_count,
            digest.new_count,
            digest.resolved_count,
            digest.total_usd,
        )
        return []  # the log is where everything goes anyway: it reaches nobody in particular
