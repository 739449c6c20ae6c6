"""What the policy engine produces and the store, savings and reports consume.

Pure data: no I/O here. A ``Finding`` says which resource a policy selected and why;
``fingerprint`` hashes the fields the policy looked at, so the store can tell a finding
that is merely seen again from one whose evidence changed (remediation re-checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from governor.model.actions import Action
from governor.model.snapshot import ResourceType

Severity = Literal["low", "medium", "high"]
Mode = Literal["report", "approve", "auto"]
SEVERITY_ORDER: dict[str, int] = {"low": 1, "medium": 2, "high": 3}


@dataclass(frozen=True)
class Estimate:
    """An estimated monthly saving and how it was computed, in words."""

    monthly_usd: float
    method: str
    kind: Literal["money", "risk"] = "money"


@dataclass(frozen=True)
class Finding:
    policy: str
    resource_type: ResourceType
    resource_id: str  # the API's id as a string (API keys: the numeric id)
    org_id: str | None
    project_id: str | None
    name: str
    severity: Severity
    summary: str
    action: Action  # resolved for this resource (resize: max_cu written out)
    mode: Mode
    fingerprint: str
    evidence: dict[str, Any] = field(default_factory=dict)
    estimate: Estimate | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity across runs: one finding per policy and resource."""
        return (self.policy, self.resource_type, self.resource_id)
