"""What webhook, email and Teams messages say, as plain JSON data, channel-neutral.

Why data first: the webhook sends it as is (under ``governor/schemas/webhook.schema.json``),
email and Teams render it; so the three say the same thing, and a consumer of the
webhook reads exactly what a person reads. Nothing here is a secret: no approval token
(a Slack capability), no URL, no credential. Pure functions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from governor.notify.documents import Digest, DigestItem
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.execute import Outcome
from governor.remediate.plan import PlanItem
from governor.report.links import top_ranked
from governor.savings.totals import count_once
from governor.store import StoredFinding
from governor.store.remediations import RemediationRecord

TOP_FINDINGS = 10  # a report's findings by money; the rest are counted
MAX_NOTICES = 100  # a notice document's items; the rest are counted
Data = dict[str, Any]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def report_data(
    result: AuditResult, *, remediations: Mapping[str, int], top: int = TOP_FINDINGS
) -> Data:
    """A run's summary: counts, savings with each cost counted once, its top findings."""
    shown = top_ranked(result.findings, top)
    totals = count_once(finding.estimate for finding in result.findings)
    new = sum(1 for finding in result.findings if finding.first_run_id == result.run_id)
    return {
        "run_id": result.run_id,
        "complete": result.complete,
        "started_at": iso(result.started_at),
        "finished_at": iso(result.finished_at),
        "counts": {
            "findings": len(result.findings),
            "new": new,
            "resolved": len(result.resolved),
            "incomplete_parts": len(result.incomplete),
            "remediations": {state: int(count) for state, count in sorted(remediations.items())},
            "by_policy": dict(sorted(Counter(f.policy for f in result.findings).items())),
        },
        "savings": {
            "monthly_usd": totals.monthly_usd,
            "counted_once_note": totals.note or None,
        },
        "top_findings": [finding_data(finding, run_id=result.run_id) for finding in shown],
        "more_findings": len(result.findings) - len(shown),
    }


def finding_data(finding: StoredFinding, *, run_id: int) -> Data:
    return {
        "fingerprint": finding.fingerprint,
        "policy": finding.policy,
        "severity": finding.severity,
        "resource_type": finding.resource_type,
        "resource_id": finding.resource_id,
        "name": finding.name,
        "org_id": finding.org_id,
        "project_id": finding.project_id,
        "summary": finding.summary,
        "monthly_usd": finding.estimate_usd,
        "estimate_kind": finding.estimate_kind,
        "owner": getattr(finding, "owned_by", None),
        "new": finding.first_run_id == run_id,
    }


def notice_data(
    items: Sequence[PlanItem], *, now: datetime, policies: Mapping[str, Policy]
) -> Data:
    """What will be done to which resource, by which policy, and when (grace from now)."""
    unique = list({(item.resource_type, item.resource_id): item for item in items}.values())
    shown = unique[:MAX_NOTICES]
    return {
        "noticed_at": iso(now),
        "count": len(unique),
        "more": len(unique) - len(shown),
        "items": [
            {
                "policy": item.policy,
                "change": item.change.kind if item.change is not None else None,
                "request": item.request or None,
                "resource_type": item.resource_type,
                "resource_id": item.resource_id,
                "name": item.name,
                "org_id": item.org_id,
                "project_id": item.project_id,
                "when": _when(item, now, policies),
                "not_before": _not_before(item, now, policies),
            }
            for item in shown
        ],
    }


def _grace(item: PlanItem, policies: Mapping[str, Policy]) -> timedelta:
    graces = [
        policies[source.policy].grace_period for source in item.sources if source.policy in policies
    ]
    return max(graces, default=timedelta(0))


def _not_before(item: PlanItem, now: datetime, policies: Mapping[str, Policy]) -> str | None:
    if item.actionable or item.status == "needs_approval":
        return None
    grace = _grace(item, policies)
    return iso(now + grace) if grace > timedelta(0) else None


def _when(item: PlanItem, now: datetime, policies: Mapping[str, Policy]) -> str:
    if item.actionable:
        return "now"
    if item.status == "needs_approval":
        return "once an approver approves it"
    grace = _grace(item, policies)
    if grace > timedelta(0):
        return f"not before {(now + grace).astimezone(UTC).strftime('%Y-%m-%d %H:%M')} UTC"
    return f"later: {item.reason}" if item.reason else "later"


def request_data(record: RemediationRecord) -> Data:
    """An approval request: what, where, why, until when, and the commands that decide it
    (these channels take no clicks: approvals stay with Slack and the CLI)."""
    return {
        "remediation_id": record.id,
        "policy": record.policy,
        "change": record.change.kind,
        "resource_type": record.resource_type,
        "resource_id": record.resource_id,
        "name": record.resource_name,
        "org_id": record.org_id,
        "project_id": record.project_id,
        "why": record.why,
        "irreversible": record.irreversible,
        "disruptive": record.disruptive,
        "monthly_usd": record.estimate_usd,
        "expires_at": record.approval_expires_at,
        "approve_command": f"neon-governor approve {record.id}",
        "reject_command": f"neon-governor reject {record.id}",
    }


def update_data(record: RemediationRecord, status: str, detail: str) -> Data:
    """What became of a request (approved, rejected, kept, expired, ...)."""
    return {
        "remediation_id": record.id,
        "status": status,
        "detail": detail,
        "change": record.change.kind,
        "resource": f"{record.resource_type} {record.resource_name} ({record.resource_id})",
    }


def outcome_data(outcome: Outcome) -> Data:
    """How a remediation ended (succeeded, failed, ...)."""
    return {
        "remediation_id": outcome.remediation_id,
        "status": outcome.state,
        "detail": outcome.reason,
        "change": outcome.change,
        "resource": outcome.resource,
    }


def digest_data(digest: Digest) -> Data:
    """An owner's digest: their findings by money, what is new and resolved, the total."""
    return {
        "owner": digest.owner,
        "created_at": digest.created_at,
        "since": digest.since,
        "open_count": digest.open_count,
        "new_count": digest.new_count,
        "resolved_count": digest.resolved_count,
        "total_usd": digest.total_usd,
        "counted_once_note": digest.counted_once_note,
        "truncated": digest.truncated,
        "items": [digest_item_data(item) for item in digest.items],
    }


def digest_item_data(item: DigestItem) -> Data:
    data: Data = {
        "fingerprint": item.fingerprint,
        "policy": item.policy,
        "severity": item.severity,
        "resource_type": item.resource_type,
        "resource_id": item.resource_id,
        "name": item.name,
        "org_id": item.org_id,
        "project_id": item.project_id,
        "summary": item.summary,
        "status": item.status,
        "monthly_usd": item.usd,
        "estimate_kind": item.estimate_kind,
        "action": item.action,
        "console_url": item.console_url,
        "remediation_id": item.remediation_id,
    }
    if item.remediation_id is not None:
        data["approve_command"] = f"neon-governor approve {item.remediation_id}"
    return data
