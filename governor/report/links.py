"""Where a finding's resource is in the Neon console, and the order findings are listed in.

Why one place: the Slack report, the owners' digests, the webhook documents and the HTML
report all link a finding and rank findings; two copies of the URL rules had already
drifted (one knew organizations, the other not).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from urllib.parse import quote

from governor.model.findings import SEVERITY_ORDER
from governor.store.records import StoredFinding

CONSOLE_URL = "https://console.neon.tech"
MAX_URL = 400  # a longer link (a hostile id) is left out rather than cut


def console_link(finding: StoredFinding, console_url: str = CONSOLE_URL) -> str | None:
    """The console page of the finding's resource, ids percent-encoded (a plain URL: each
    channel escapes it for its own markup); None when there is none to build."""
    base = console_url.rstrip("/")
    project = quote(finding.project_id or "", safe="")
    resource = quote(finding.resource_id, safe="")
    if finding.resource_type == "api_key":
        url = f"{base}/app/settings/api-keys"
    elif finding.resource_type == "project":
        url = f"{base}/app/projects/{project or resource}"
    elif finding.resource_type == "organization":
        url = f"{base}/app/{resource}/projects"
    elif not project:
        return None
    elif finding.resource_type == "branch":
        url = f"{base}/app/projects/{project}/branches/{resource}"
    else:  # a compute or a snapshot: its project's branch list
        url = f"{base}/app/projects/{project}/branches"
    return url if len(url) <= MAX_URL else None


def ranked(findings: Sequence[StoredFinding]) -> list[StoredFinding]:
    """Largest estimate first, then highest severity; ids break ties (stable output)."""
    return sorted(findings, key=_rank)


def top_ranked(findings: Iterable[StoredFinding], count: int) -> list[StoredFinding]:
    """The first ``count`` of ``ranked``, holding only those: a streamed run's findings are
    read back from disk one at a time."""
    return heapq.nsmallest(max(count, 0), findings, key=_rank)


def _rank(finding: StoredFinding) -> tuple[float, int, str, str, str]:
    return (
        -finding.estimated_monthly_savings_usd,
        -SEVERITY_ORDER.get(finding.severity, 0),
        finding.policy,
        finding.resource_type,
        finding.resource_id,
    )
