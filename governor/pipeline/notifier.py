"""What the pipeline tells people, as a seam: the notify stage calls a ``Notifier``.

Why a protocol here and the implementations in ``governor.notify``: the pipeline must not
import Slack (an optional integration that may be slow or down), and the Slack side renders
the pipeline's results, so it sits above it. The runtime picks the implementation.
"""

from __future__ import annotations

from typing import Protocol

from governor.pipeline.results import AuditResult


class Notifier(Protocol):
    async def run_finished(self, result: AuditResult) -> None:
        """Called once per recorded run; must never raise for a delivery problem."""
