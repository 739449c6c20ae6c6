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
# measured: priced from Neon's consumption meters; estimated: a bound from object fields;
# quota: a Free plan's saving, in quota units (never dollars); risk: saves risk, not money.
EstimateKind = Literal["measured", "estimated", "quota", "risk"]
ESTIMATE_KINDS: tuple[EstimateKind, ...] = ("measured", "estimated", "quota", "risk")


@dataclass(frozen=True)
class CostPart:
    """One cost an estimate would save, under a key that names the cost, not the finding.

    Why: a stale branch and its never-suspending compute are two findings that save the same
    compute dollar; both list ``compute_floor:<endpoint id>``, so totals count it once.
    """

    key: str  # e.g. "compute_floor:ep-1", "storage:br-1", "branch_fee:br-1"
    monthly_usd: float


@dataclass(frozen=True)
class Estimate:
    """An estimated monthly saving and how it was computed, in words."""

    monthly_usd: float
    method: str
    kind: EstimateKind = "estimated"
    parts: tuple[CostPart, ...] = ()


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
