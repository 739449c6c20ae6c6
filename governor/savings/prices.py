"""Neon's published prices, the input to savings estimates.

Defaults were taken from Neon's public pricing pages on 2026-11-27 (usage-based plans,
introduced 2025-08-14): https://neon.com/docs/introduction/plans and the FAQ pages
https://neon.com/faqs/managed-postgres-services-pay-active-compute and
https://neon.com/faqs/serverless-database-services-postgres-charge-per-second.
Legacy and marketplace plans differ: override them in the config's ``[prices]`` table.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

PRICES_TAKEN_ON = "2026-11-27"
PRICES_SOURCE = "https://neon.com/docs/introduction/plans"
HOURS_PER_MONTH = 730.0


class PlanPrices(BaseModel):
    """Prices of one plan, in USD."""

    # Strict and bounded: a price of "0.1" (a string), inf or 1e24 is a typo, never a price.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    compute_per_cu_hour: float = Field(ge=0, le=100, description="USD per compute-unit hour.")
    storage_per_gb_month: float = Field(
        ge=0, le=100, description="USD per GB-month of branch storage."
    )
    extra_branch_per_month: float = Field(
        default=1.50,
        ge=0,
        le=1000,
        description="USD per branch-month beyond the plan's included branches.",
    )
    included_branches_per_project: int = Field(default=10, ge=0, le=1_000_000)


def _default_plans() -> dict[str, PlanPrices]:
    return {
        "launch": PlanPrices(compute_per_cu_hour=0.106, storage_per_gb_month=0.35),
        "scale": PlanPrices(
            compute_per_cu_hour=0.222, storage_per_gb_month=0.35, included_branches_per_project=25
        ),
    }


class Prices(BaseModel):
    """The ``[prices]`` config table.

    ``default_plan`` applies to organizations whose ``plan`` has no entry in ``plans``
    (free, legacy and marketplace plans report other names).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    taken_on: str = Field(default=PRICES_TAKEN_ON, description="When the prices were read.")
    source: str = Field(default=PRICES_SOURCE, description="Where the prices were read.")
    default_plan: str = Field(default="launch", description="Plan used when the org's is unknown.")
    plans: dict[str, PlanPrices] = Field(default_factory=_default_plans)

    @field_validator("plans", mode="before")
    @classmethod
    def _over_the_defaults(cls, plans: Any) -> Any:
        """Overriding one plan keeps the others: ``[prices.plans.launch]`` alone must not
        leave Scale organizations priced at Launch rates. A partial plan table keeps the
        fields it does not set from that plan's defaults."""
        if not isinstance(plans, dict):
            return plans
        merged: dict[str, Any] = {
            name: plan.model_dump() for name, plan in _default_plans().items()
        }
        for name, plan in plans.items():
            if isinstance(plan, dict) and name in merged:
                merged[name] = {**merged[name], **plan}
            else:
                merged[name] = plan
        return merged

    def for_plan(self, plan: str | None) -> PlanPrices:
        """Return the prices of ``plan``, falling back to ``default_plan``."""
        if plan and plan in self.plans:
            return self.plans[plan]
        if self.default_plan in self.plans:
            return self.plans[self.default_plan]
        return _default_plans()["launch"]
