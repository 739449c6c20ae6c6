"""Notifiers that need no service: one log line per run, or nothing at all."""

from __future__ import annotations

import logging

from governor.pipeline.results import AuditResult

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
