"""Which plan's prices an estimate uses, and how a plan turns saved quantities into dollars.

Why one place: every estimator saves quantities (CU-hours, GB-months, branch-months); what
they are worth depends on the plan, not the lever: dollars on usage-based plans, quota units
on Free (never billed), $0 inside a legacy plan's allowance, nothing on a custom
(Enterprise) plan until the config prices it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from governor.model.findings import CostPart, Estimate, EstimateKind, Finding
from governor.policy.resources import SnapshotIndex
from governor.savings.billing_plan import billing_plan
from governor.savings.money import cents, unit_price, usd
from governor.savings.prices import PlanPrices, Prices

Unit = Literal["cu_hour", "gb_month", "branch_month", "restore_gb_month", "snapshot_gb_month"]
_UNIT_NAMES: dict[Unit, str] = {
    "cu_hour": "CU-hour",
    "gb_month": "GB-month",
    "branch_month": "extra-branch-month",
    "restore_gb_month": "instant-restore GB-month",
    "snapshot_gb_month": "snapshot GB-month",
}
# Lines a legacy plan includes outright (no published charge): $0, not "inside the allowance".
_LEGACY_INCLUDED: frozenset[Unit] = frozenset({"restore_gb_month", "snapshot_gb_month"})


@dataclass(frozen=True)
class PlanChoice:
    prices: PlanPrices
    label: str
    plan_id: str | None = None


@dataclass(frozen=True)
class Line:
    """One cost an action saves: ``factors`` multiply to the quantity per month in ``unit``;
    ``text`` spells the factors out; ``key`` names the cost (``CostPart.key``)."""

    key: str
    unit: Unit
    factors: tuple[float, ...]
    text: str

    @property
    def quantity(self) -> float:
        product = 1.0
        for factor in self.factors:
            product *= factor
        return product


def plan_for(finding: Finding, index: SnapshotIndex, prices: Prices) -> PlanChoice:
    """The organization's plan as Neon states it (``billing_plan``), else the default plan."""
    org_id = finding.org_id
    project = index.projects.get(finding.project_id) if finding.project_id else None
    if org_id is None and project is not None:
        org_id = project.org_id
    organization = index.organizations.get(org_id) if org_id else None
    plan, why = billing_plan(
        organization.raw if organization else None, project.raw if project else None
    )
    if plan and plan in prices.plans:
        name = plan
    else:
        name = prices.default_plan if prices.default_plan in prices.plans else "launch (built-in)"
        if organization is None and project is None:
            why = "organization unknown, so the default plan"
        elif plan is None:
            why = f"{why}, so the default plan"
        else:
            why = f"plan {plan!r} has no price entry, so the default plan"
    chosen = prices.for_plan(name)
    label = f"Prices: plan {name} ({why}), taken on {chosen.taken_on} from {chosen.source}."
    return PlanChoice(chosen, label, name)


def _price(prices: PlanPrices, unit: Unit) -> float:
    if unit == "cu_hour":
        return prices.compute_per_cu_hour
    if unit == "gb_month":
        return prices.storage_per_gb_month
    if unit == "restore_gb_month":
        return prices.instant_restore_per_gb_month
    if unit == "snapshot_gb_month":
        return prices.snapshot_per_gb_month
    return prices.extra_branch_per_month


def priced(
    lead: str,
    lines: list[Line],
    notes: list[str],
    plan: PlanChoice,
    kind: EstimateKind = "estimated",
) -> Estimate:
    """The estimate of saving ``lines`` on ``plan``; ``notes`` are the parts costing nothing."""
    prices = plan.prices
    fragments: list[str] = []
    parts: list[CostPart] = []
    total = 0.0
    if prices.kind == "free":
        for line in lines:
            fragments.append(_quota(line, prices))
        body = "; ".join([*fragments, *notes])
        return Estimate(
            0.0,
            f"{lead}: {body}. The Free plan is never billed: this saves quota, not dollars. "
            f"{plan.label}",
            "quota",
        )
    if prices.kind == "custom":
        shown = [f"{line.text} = {line.quantity:,.2f} {_UNIT_NAMES[line.unit]}" for line in lines]
        body = "; ".join([*shown, *notes])
        return Estimate(
            0.0,
            f"{lead}: {body}. Custom (Enterprise) prices are not published, so no dollars are "
            f"claimed: set your own prices in [prices.plans.{plan.plan_id or 'enterprise'}]. "
            f"{plan.label}",
            kind,
        )
    for line in lines:
        price = _price(prices, line.unit)
        amount = cents(*line.factors, price)
        if prices.kind == "legacy" and line.unit in _LEGACY_INCLUDED:
            fragments.append(
                f"{line.text} = {line.quantity:,.2f} {_UNIT_NAMES[line.unit]}, which the legacy "
                "plan includes (no published charge): $0"
            )
            continue
        if prices.kind == "legacy" and line.unit != "branch_month":
            fragments.append(_inside_allowance(line, prices, amount))
            continue
        total += amount
        if amount > 0:
            parts.append(CostPart(line.key, amount))
        fragments.append(
            f"{line.text} x {unit_price(price)}/{_UNIT_NAMES[line.unit]} = {usd(amount)}"
        )
    total = cents(total)
    body = "; ".join([*fragments, *notes])
    return Estimate(
        total, f"{lead}: {body}. Total {usd(total)}/month. {plan.label}", kind, tuple(parts)
    )


def _quota(line: Line, prices: PlanPrices) -> str:
    if line.unit == "cu_hour":
        return (
            f"{line.text} = {line.quantity:,.1f} CU-h of the {prices.compute_hours_included:g} "
            "CU-h per project per month"
        )
    if line.unit == "gb_month":
        return (
            f"{line.text} = {line.quantity:,.2f} GB-month of the "
            f"{prices.storage_gb_month_included:g} GB per project"
        )
    if line.unit == "restore_gb_month":
        return f"{line.text}: the Free plan's restore window (6 h, up to 1 GB) is free"
    if line.unit == "snapshot_gb_month":
        return f"{line.text}: the Free plan's one manual snapshot is free"
    return f"{line.text}: the Free plan has no extra branches to pay for"


def _inside_allowance(line: Line, prices: PlanPrices, amount: float) -> str:
    if line.unit == "cu_hour":
        allowance = f"{prices.compute_hours_included:g} CU-h"
    else:
        allowance = f"{prices.storage_gb_month_included:g} GB-month"
    price = _price(prices, line.unit)
    return (
        f"{line.text} = {line.quantity:,.2f} {_UNIT_NAMES[line.unit]}, inside the legacy "
        f"plan's allowance ({allowance} a month, org-wide, in the "
        f"{usd(prices.base_fee_per_month)} base fee): counts $0 unless usage is known to "
        f"exceed it; beyond it, {usd(amount)} at the {unit_price(price)} overage"
    )
