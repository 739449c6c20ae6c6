"""A finding's refreshed columns, encoded once: as bound to SQL, and as read back.

Why apart: the findings writer binds the first and hands back the second, and at 100,000
findings the encoding is most of what a run's findings cost. The read-back forms are
decoded from the very text stored, so a returned finding equals a fresh read of its row.
"""

from __future__ import annotations

import json
from typing import Any

from governor.model.actions import Action
from governor.model.findings import CostPart, Finding
from governor.store.encoding import EncodingError, encode_json
from governor.store.finding_rules import describe
from governor.store.records import cost_parts, stored_action

# Columns a new sighting refreshes on every run, whatever the status.
REFRESHED = (
    "org_id",
    "project_id",
    "name",
    "severity",
    "summary",
    "action",
    "mode",
    "fingerprint",
    "evidence",
    "estimate_usd",
    "estimate_method",
    "estimate_kind",
    "estimate_parts",
    "owned_by",
    "owned_by_rule",
)
# (owned_by, owned_by_rule) of a finding: its resource's owner and the rule that said so
Ownership = tuple[str | None, str | None]
UNSTAMPED: Ownership = (None, None)


class FindingValues:
    """Encodes findings; each distinct action once (most findings of a policy share one)."""

    def __init__(self) -> None:
        self._actions: dict[Action, str] = {}

    def action_text(self, action: Action, what: str) -> str:
        text = self._actions.get(action)
        if text is None:
            text = encode_json(action.as_json(), what=what)
            self._actions[action] = text
        return text

    def values(self, finding: Finding, owner: Ownership = UNSTAMPED) -> tuple[Any, ...]:
        """The ``REFRESHED`` columns, as bound to SQL; ``owner``: who owns its resource."""
        estimate = finding.estimate
        try:
            action = self.action_text(finding.action, "action")
            evidence = encode_json(finding.evidence, what="evidence")
        except EncodingError as error:
            raise EncodingError(f"{describe(finding.key)}: {error}") from error
        return (
            finding.org_id,
            finding.project_id,
            finding.name,
            finding.severity,
            finding.summary,
            action,
            finding.mode,
            finding.fingerprint,
            evidence,
            None if estimate is None else round(float(estimate.monthly_usd), 2),
            None if estimate is None else estimate.method,
            None if estimate is None else estimate.kind,
            "[]" if estimate is None else _parts_text(estimate.parts),
            *owner,
        )


def _parts_text(parts: tuple[CostPart, ...]) -> str:
    """``[[key, monthly USD], ...]``: pairs, since a field named "key" reads as a secret."""
    return encode_json(
        [[part.key, float(part.monthly_usd)] for part in parts], what="estimate parts"
    )


def read_back(bound: tuple[Any, ...]) -> dict[str, Any]:
    """The ``REFRESHED`` columns as a fresh read of the row gives them (JSON decoded)."""
    values: dict[str, Any] = dict(zip(REFRESHED, bound, strict=True))
    values["action"] = stored_action(values["action"])
    values["evidence"] = json.loads(values["evidence"])
    values["estimate_parts"] = cost_parts(values["estimate_parts"])
    return values
