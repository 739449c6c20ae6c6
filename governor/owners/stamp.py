"""Each finding's owner, as the store keeps it (``findings.owned_by`` / ``owned_by_rule``).

Why at record time: digests, grouped approvals and reports all ask "whose is this?";
answering once per run, from the snapshot the findings came from, makes them agree, and a
changed owner map takes effect at the next run. One match per resource, however many
policies found something about it.
"""

from __future__ import annotations

from collections.abc import Iterable

from governor.model.findings import Finding
from governor.model.snapshot import Snapshot
from governor.owners.facts import FactsIndex
from governor.owners.match import Match, OwnerMap

FindingKey = tuple[str, str, str]


def stamp_findings(
    owners: OwnerMap, snapshot: Snapshot, findings: Iterable[Finding]
) -> dict[FindingKey, tuple[str | None, str]]:
    """(owned_by, owned_by_rule) by finding key (policy, resource type, resource id)."""
    findings = list(findings)
    if not owners.configured:
        return {finding.key: (None, "none") for finding in findings}
    index = FactsIndex.of_snapshot(snapshot)
    matched: dict[tuple[str, str], Match] = {}
    stamps: dict[FindingKey, tuple[str | None, str]] = {}
    for finding in findings:
        resource = (finding.resource_type, finding.resource_id)
        match = matched.get(resource)
        if match is None:
            facts = index.facts(
                finding.resource_type,
                finding.resource_id,
                org_id=finding.org_id,
                project_id=finding.project_id,
                name=finding.name,
            )
            match = matched[resource] = owners.owner_of(facts)
        stamps[finding.key] = (match.owner, match.rule)
    return stamps
