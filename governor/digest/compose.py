"""One owner's digest from their findings and their previous digest: pure, no I/O.

Why pure: ranking, totals and "what changed since the last one" are the digest's whole
meaning, and each rule here is tested on plain values; ``send`` does the reading and the
recording. Money first: an owner reads the top of the list, so the costliest findings
lead and unpriced ones come last; the total counts each cost once, as the report does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from governor.notify.documents import Digest, DigestItem, DigestStatus
from governor.report.links import CONSOLE_URL, console_link
from governor.savings.totals import count_once
from governor.store.records import StoredFinding

# A console URL this long is built from a hostile id, not a real page: no link then.
ApprovalKey = tuple[str, str, str]  # (policy, resource type, resource id)


@dataclass(frozen=True)
class Approval:
    """A remediation of a finding that waits for an approver, and its Slack token (if any)."""

    remediation_id: int
    token: str | None


@dataclass(frozen=True)
class Previous:
    """What the owner's last digest held: when, and the open findings' fingerprints."""

    created_at: str
    fingerprints: frozenset[str]


def compose(
    owner: str,
    open_findings: Sequence[StoredFinding],
    resolved_findings: Sequence[StoredFinding],
    previous: Previous | None,
    *,
    now: datetime,
    top: int,
    mentions: Sequence[str] = (),
    approvals: Mapping[ApprovalKey, Approval] | None = None,
    console_url: str = CONSOLE_URL,
) -> Digest:
    """The digest: open findings ranked by money (at most ``top`` listed), then those
    resolved since ``previous`` (only findings ``previous`` listed count as resolved).

    ``new``: an open finding whose fingerprint the previous digest did not hold (all of
    them on the first digest). Totals cover every open finding, listed or not.
    """
    approvals = approvals or {}
    known = previous.fingerprints if previous is not None else frozenset()
    ranked_open = ranked(open_findings)
    open_fingerprints = {finding.fingerprint for finding in open_findings}
    resolved = ranked(
        [
            finding
            for finding in resolved_findings
            if finding.fingerprint in known and finding.fingerprint not in open_fingerprints
        ]
    )
    new_count = sum(1 for finding in open_findings if finding.fingerprint not in known)
    listed = ranked_open[: max(top, 0)]
    items = [
        _item(finding, "open" if finding.fingerprint in known else "new", approvals, console_url)
        for finding in listed
    ]
    items += [_item(finding, "resolved", {}, console_url) for finding in resolved[: max(top, 0)]]
    totals = count_once(finding.estimate for finding in open_findings)
    return Digest(
        owner=owner,
        created_at=now.isoformat(),
        since=previous.created_at if previous is not None else None,
        items=tuple(items),
        open_count=len(open_findings),
        new_count=new_count,
        resolved_count=len(resolved),
        total_usd=totals.monthly_usd,
        counted_once_note=totals.note or None,
        truncated=len(ranked_open) - len(listed),
        mentions=tuple(mentions),
    )


def is_worth_sending(digest: Digest, *, first: bool, when_empty: bool) -> bool:
    """Nothing new and nothing resolved: not sent, unless it is the owner's first digest
    or they asked for one every time (``digest_when_empty``)."""
    return first or when_empty or digest.new_count > 0 or digest.resolved_count > 0


def ranked(findings: Sequence[StoredFinding]) -> list[StoredFinding]:
    """Most money first, unpriced last, then by name; policy and id keep it stable."""
    return sorted(
        findings,
        key=lambda f: (
            f.estimate_usd is None,
            -(f.estimate_usd or 0.0),
            f.name,
            f.policy,
            f.resource_type,
            f.resource_id,
        ),
    )


def _item(
    finding: StoredFinding,
    status: DigestStatus,
    approvals: Mapping[ApprovalKey, Approval],
    console_url: str,
) -> DigestItem:
    approval = approvals.get(finding.key)
    return DigestItem(
        fingerprint=finding.fingerprint,
        policy=finding.policy,
        severity=str(finding.severity),
        resource_type=str(finding.resource_type),
        resource_id=finding.resource_id,
        name=finding.name,
        org_id=finding.org_id,
        project_id=finding.project_id,
        summary=finding.summary,
        status=status,
        usd=finding.estimate_usd,
        estimate_kind=finding.estimate_kind,
        action=finding.action.type,
        console_url=console_link(finding, console_url),
        remediation_id=approval.remediation_id if approval else None,
        approval_token=approval.token if approval else None,
        finding_id=finding.id,
    )
