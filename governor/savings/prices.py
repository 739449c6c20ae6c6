"""Neon's rate card: one dated price table per billing plan, the input to savings estimates.

Why per plan and dated: Neon changed prices twice in 2025 (neon-costs.md §1.1), Free is never
billed, legacy plans bill only beyond their allowances and Enterprise is custom, so one
"launch" table priced every organization wrongly. Each built-in figure, with its source:

- Launch $0.106 / Scale $0.222 per CU-hour, storage $0.35/GB-month (root and child), instant
  restore $0.20/GB-month, extra branch $1.50/branch-month with 10 / 25 branches included per
  project, public transfer 100 GB included org-wide then $0.10/GB, private transfer $0.01/GB
  (Scale, PrivateLink): neondatabase/website content/docs/introduction/plans.md @0020a391
  (updatedOn 2026-03-20), unchanged in the 2026-11-12 revision's summary.
- Snapshots $0.09/GB-month, billed since 2026-05-01: content/docs/guides/backup-restore.md
  (updatedOn 2026-04-17).
- GB = 10^9 bytes, the 744-hour GB-month (``governor/savings/units.py``):
  content/docs/introduction/usage-calculations.md @164e30b8 (updatedOn 2026-05-28).
- Free: 100 CU-hours and 0.5 GB per project per month, never billed: plans.md (2026-03-20).
- Agent: $0.106/CU-hour, storage $0.35, instant restore $0.20: introduction/agent-plan.md
  @82b3dffe (updatedOn 2026-02-06); usage-calculations.md says Agent matches Scale, which
  conflicts: the agent-plan page is the more specific one.
- Legacy Launch $19 (300 CU-h, 10 GB-month; over: $0.16/CU-h, $1.75/GB-month), Scale $69
  (750, 50; $0.16, $1.50), Business $700 (1,000, 500; $0.16, $0.50):
  introduction/legacy-plans.md @05b7a07f (updatedOn 2025-08-27). Legacy plans include the
  restore window and publish no per-branch, snapshot or transfer charge: 0 here.
- Enterprise: custom pricing, so no built-in dollars; set your own in
  ``[prices.plans.enterprise]`` (a table given there is priced as a usage-based plan).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from governor.savings.units import HOURS_PER_MONTH

__all__ = ["HOURS_PER_MONTH", "PRICES_SOURCE", "PRICES_TAKEN_ON", "PlanPrices", "Prices"]

PRICES_TAKEN_ON = "2026-11-27"
PRICES_SOURCE = "https://neon.com/docs/introduction/plans"
PlanKind = Literal["usage", "free", "legacy", "custom"]

_USAGE_TAKEN_ON = "2026-11-12"
_USAGE_SOURCE = (
    "https://neon.com/docs/introduction/plans (snapshots: /docs/guides/backup-restore; "
    "units: /docs/introduction/usage-calculations)"
)
_AGENT_SOURCE = "https://neon.com/docs/introduction/agent-plan (2026-02-06)"
_LEGACY_TAKEN_ON = "2025-08-27"
_LEGACY_SOURCE = "https://neon.com/docs/introduction/legacy-plans (2025-08-27)"
_ENTERPRISE_SOURCE = "custom pricing: set your own in [prices.plans.enterprise]"


class PlanPrices(BaseModel):
    """Prices of one plan, in USD; GB = 10^9 bytes, a GB-month is 744 GB-hours."""

    # Strict and bounded: a price of "0.1" (a string), inf or 1e24 is a typo, never a price.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    compute_per_cu_hour: float = Field(ge=0, le=100, description="USD per compute-unit hour.")
    storage_per_gb_month: float = Field(
        ge=0, le=100, description="USD per GB-month of branch storage."
    )
    instant_restore_per_gb_month: float = Field(default=0.20, ge=0, le=100)
    snapshot_per_gb_month: float = Field(default=0.09, ge=0, le=100)
    public_transfer_per_gb: float = Field(default=0.10, ge=0, le=100)
    public_transfer_included_gb: float = Field(
        default=100.0, ge=0, le=1e9, description="GB of public transfer included, org-wide."
    )
    private_transfer_per_gb: float = Field(default=0.01, ge=0, le=100)
    extra_branch_per_month: float = Field(
        default=1.50,
        ge=0,
        le=1000,
        description="USD per branch-month beyond the plan's included branches.",
    )
    included_branches_per_project: int = Field(default=10, ge=0, le=1_000_000)
    billed: bool = Field(default=True, description="False: never billed (Free).")
    kind: PlanKind = "usage"
    compute_hours_included: float = Field(
        default=0.0,
        ge=0,
        le=1e9,
        description="CU-hours included per month: per organization on legacy plans, per "
        "project on Free (its quota).",
    )
    storage_gb_month_included: float = Field(
        default=0.0, ge=0, le=1e9, description="GB-months included (legacy: org; Free: project)."
    )
    base_fee_per_month: float = Field(default=0.0, ge=0, le=1e7)
    taken_on: str = PRICES_TAKEN_ON
    source: str = PRICES_SOURCE


def _default_plans() -> dict[str, PlanPrices]:
    usage: dict[str, Any] = {"taken_on": _USAGE_TAKEN_ON, "source": _USAGE_SOURCE}
    legacy: dict[str, Any] = {
        "kind": "legacy",
        "instant_restore_per_gb_month": 0.0,
        "snapshot_per_gb_month": 0.0,
        "public_transfer_per_gb": 0.0,
        "private_transfer_per_gb": 0.0,
        "extra_branch_per_month": 0.0,
        "taken_on": _LEGACY_TAKEN_ON,
        "source": _LEGACY_SOURCE,
    }
    unbilled: dict[str, Any] = {
        "compute_per_cu_hour": 0.0,
        "storage_per_gb_month": 0.0,
        "instant_restore_per_gb_month": 0.0,
        "snapshot_per_gb_month": 0.0,
        "public_transfer_per_gb": 0.0,
        "private_transfer_per_gb": 0.0,
        "extra_branch_per_month": 0.0,
    }
    return {
        "launch": PlanPrices(
            compute_per_cu_hour=0.106,
            storage_per_gb_month=0.35,
            private_transfer_per_gb=0.0,  # PrivateLink is Scale only
            **usage,
        ),
        "scale": PlanPrices(
            compute_per_cu_hour=0.222,
            storage_per_gb_month=0.35,
            included_branches_per_project=25,
            **usage,
        ),
        "free": PlanPrices(
            **unbilled,
            billed=False,
            kind="free",
            public_transfer_included_gb=5.0,
            compute_hours_included=100.0,
            storage_gb_month_included=0.5,
            **usage,
        ),
        "agent": PlanPrices(
            compute_per_cu_hour=0.106,
            storage_per_gb_month=0.35,
            private_transfer_per_gb=0.0,
            taken_on="2026-02-06",
            source=_AGENT_SOURCE,
        ),
        "legacy_launch": PlanPrices(
            compute_per_cu_hour=0.16,
            storage_per_gb_month=1.75,
            compute_hours_included=300.0,
            storage_gb_month_included=10.0,
            base_fee_per_month=19.0,
            **legacy,
        ),
        "legacy_scale": PlanPrices(
            compute_per_cu_hour=0.16,
            storage_per_gb_month=1.50,
            compute_hours_included=750.0,
            storage_gb_month_included=50.0,
            base_fee_per_month=69.0,
            **legacy,
        ),
        "legacy_business": PlanPrices(
            compute_per_cu_hour=0.16,
            storage_per_gb_month=0.50,
            compute_hours_included=1000.0,
            storage_gb_month_included=500.0,
            base_fee_per_month=700.0,
            **legacy,
        ),
        "enterprise": PlanPrices(
            **unbilled, kind="custom", taken_on=_USAGE_TAKEN_ON, source=_ENTERPRISE_SOURCE
        ),
    }


class Prices(BaseModel):
    """The ``[prices]`` config table.

    ``default_plan`` applies to organizations whose plan is unknown or has no entry in
    ``plans``. ``taken_on`` and ``source`` date the figures a config table sets.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    taken_on: str = Field(default=PRICES_TAKEN_ON, description="When the prices were read.")
    source: str = Field(default=PRICES_SOURCE, description="Where the prices were read.")
    default_plan: str = Field(default="launch", description="Plan used when the org's is unknown.")
    plans: dict[str, PlanPrices] = Field(default_factory=_default_plans)

    @field_validator("plans", mode="before")
    @classmethod
    def _over_the_defaults(cls, plans: Any, info: ValidationInfo) -> Any:
        """Overriding one plan keeps the others: ``[prices.plans.launch]`` alone must not
        leave Scale organizations priced at Launch rates. A partial plan table keeps the
        fields it does not set from that plan's defaults; the figures it sets are dated by
        the table's own ``taken_on``/``source``, else by ``[prices]``'s. A table for the
        custom Enterprise plan makes it a priced, usage-based plan."""
        if not isinstance(plans, dict):
            return plans
        defaults = _default_plans()
        merged: dict[str, Any] = {name: plan.model_dump() for name, plan in defaults.items()}
        dated = {
            "taken_on": info.data.get("taken_on", PRICES_TAKEN_ON),
            "source": info.data.get("source", PRICES_SOURCE),
        }
        for name, plan in plans.items():
            if isinstance(plan, dict) and name in merged:
                base = {**merged[name], **dated}
                if base.get("kind") == "custom":
                    base.update(kind="usage", billed=True)
                merged[name] = {**base, **plan}
            elif isinstance(plan, dict):
                merged[name] = {**dated, **plan}
            elif (
                isinstance(plan, PlanPrices) and not {"taken_on", "source"} & plan.model_fields_set
            ):
                merged[name] = plan.model_copy(update=dated)
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
