"""The JSON row of a finding and the summary of a set of findings (the output contract)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from governor.model.findings import SEVERITY_ORDER
from governor.store import StoredFinding

# The JSON contract of one finding; every name is a StoredFinding attribute.
ROW_FIELDS = (
    "policy",
    "resource_type",
    "resource_id",
    "org_id",
    "project_id",
    "name",
    "severity",
    "summary",
    "action",
    "mode",
    "estimated_monthly_savings_usd",
    "estimate_kind",
    "estimate_method",
    "first_seen",
    "last_seen",
    "status",
)


def finding_row(finding: StoredFinding) -> dict[str, Any]:
    row = {name: getattr(finding, name) for name in ROW_FIELDS}
    row["action"] = finding.action.as_json()
    return row


def sort_key(finding: StoredFinding) -> tuple[str, int, float, str]:
    return (
        finding.policy,
        -SEVERITY_ORDER.get(finding.severity, 0),
        -finding.estimated_monthly_savings_usd,
        finding.name,
    )


def summary(findings: Sequence[StoredFinding]) -> dict[str, Any]:
    by_policy: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"findings": 0, "estimated_monthly_savings_usd": 0.0}
    )
    by_severity: dict[str, int] = {"high": 0, "medium": 0, "low": 0}
    for finding in findings:
        entry = by_policy[finding.policy]
        entry["findings"] += 1
        entry["estimated_monthly_savings_usd"] = round(
            entry["estimated_monthly_savings_usd"] + finding.estimated_monthly_savings_usd, 2
        )
        by_severity[finding.severity] = by_severity.get(finding.severity, 0) + 1
    return {
        "findings": len(findings),
        "estimated_monthly_savings_usd": round(
            sum(finding.estimated_monthly_savings_usd for finding in findings), 2
        ),
        "by_policy": dict(sorted(by_policy.items())),
        "by_severity": by_severity,
    }
