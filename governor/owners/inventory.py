"""Who owns what: every known resource under its owner, what matched no rule, and the
rules that matched nothing (``neon-governor owners``).

Pure: from a ``FactsIndex`` (the store's latest resources), the owner map and the open
findings. Findings count under their resource's owner as the map says now (what the next
run stamps), so a changed rule shows its effect before the next audit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from governor.config.owner_checks import rule_label
from governor.owners.facts import FactsIndex, ResourceFacts
from governor.owners.match import OwnerMap
from governor.savings.totals import count_once
from governor.store.records import StoredFinding

UNOWNED = None  # the key of resources no rule and no default owns


@dataclass(frozen=True)
class OwnedResource:
    facts: ResourceFacts
    rule: str  # "rule 3", "default" or "none"


@dataclass
class OwnerShare:
    """One owner's resources and open findings (``name`` None: unowned)."""

    name: str | None
    resources: list[OwnedResource] = field(default_factory=list)
    findings: list[StoredFinding] = field(default_factory=list)

    @property
    def monthly_usd(self) -> float:
        return count_once(finding.estimate for finding in self.findings).monthly_usd


@dataclass
class OwnersInventory:
    shares: list[OwnerShare]  # the configured owners in order, then unowned when any
    unmatched: list[OwnedResource]  # matched no rule: went to the default (or unowned)
    idle_rules: list[int]  # indexes of rules that matched no resource
    default: str | None


def owners_inventory(
    owners: OwnerMap, index: FactsIndex, findings: Iterable[StoredFinding]
) -> OwnersInventory:
    """Each resource ``index`` knows under its owner; each finding under its resource's."""
    shares: dict[str | None, OwnerShare] = {
        owner.name: OwnerShare(owner.name) for owner in owners.owners
    }
    matched_rules: set[str] = set()
    unmatched: list[OwnedResource] = []
    by_resource: dict[tuple[str, str], str | None] = {}
    for facts in index.every():
        match = owners.owner_of(facts)
        owned = OwnedResource(facts, match.rule)
        shares.setdefault(match.owner, OwnerShare(match.owner)).resources.append(owned)
        by_resource[(facts.resource_type, facts.resource_id)] = match.owner
        if match.rule.startswith("rule "):
            matched_rules.add(match.rule)
        else:
            unmatched.append(owned)
    for finding in findings:
        resource = (finding.resource_type, finding.resource_id)
        if resource not in by_resource:
            facts = index.facts(
                finding.resource_type,
                finding.resource_id,
                org_id=finding.org_id,
                project_id=finding.project_id,
                name=finding.name,
            )
            by_resource[resource] = owners.owner_of(facts).owner
        owner = by_resource[resource]
        shares.setdefault(owner, OwnerShare(owner)).findings.append(finding)
    ordered = [share for name, share in shares.items() if name is not None]
    if UNOWNED in shares:
        ordered.append(shares[UNOWNED])
    idle = [i for i in range(len(owners.rules)) if rule_label(i) not in matched_rules]
    return OwnersInventory(ordered, unmatched, idle, owners.default)
