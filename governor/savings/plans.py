"""Which plan's prices an estimate uses, and the sentence that says so."""

from __future__ import annotations

from dataclasses import dataclass

from governor.model.findings import Finding
from governor.policy.resources import SnapshotIndex
from governor.savings.prices import PlanPrices, Prices


@dataclass(frozen=True)
class PlanChoice:
    prices: PlanPrices
    label: str


def plan_for(finding: Finding, index: SnapshotIndex, prices: Prices) -> PlanChoice:
    """The organization's plan when it has a price entry, else the default plan."""
    org_id = finding.org_id
    if org_id is None and finding.project_id in index.projects:
        org_id = index.projects[finding.project_id].org_id
    organization = index.organizations.get(org_id) if org_id else None
    plan = organization.plan if organization else None
    if plan and plan in prices.plans:
        name, why = plan, ""
    else:
        name = prices.default_plan if prices.default_plan in prices.plans else "launch (built-in)"
        if organization is None:
            why = " (organization unknown, so the default plan)"
        elif not plan:
            why = " (organization plan unknown, so the default plan)"
        else:
            why = f" (plan {plan!r} has no price entry, so the default plan)"
    label = f"Prices: plan {name}{why}, taken on {prices.taken_on} from {prices.source}."
    return PlanChoice(prices.for_plan(plan), label)
