"""Which billing plan an organization is on, read from what Neon says about it.

Why not ``Organization.plan`` alone: legacy (bundled, 2024) and usage-based (2025) plans
report the same names there, and every organization created through the Vercel or Azure
marketplace is on a legacy plan (neon-costs.md §1.3, §1.5). Three fields tell them apart:

- ``Project.owner.subscription_type`` (spec enum ``BillingSubscriptionType``, an open set):
  ``free_v2``/``free_v3`` -> free; ``launch_v3``/``scale_v3`` -> the usage-based plans;
  ``launch``/``scale``/``business`` -> the legacy plans (inference: ``_v3`` marks the
  usage-based generation, the unsuffixed names predate it); ``direct_sales*`` -> enterprise;
  ``aws_marketplace``/``vercel_pg_legacy`` -> a marketplace, so legacy; ``UNKNOWN`` says nothing.
- ``Organization.managed_by``: anything but ``console`` is a marketplace, so a paid plan is
  the legacy one.
- ``Organization.plan``: ``free``, ``launch``, ``scale``, ``agent``, ``enterprise``,
  ``business`` (legacy only).

Pure: the API objects' JSON in, ``(plan id, why)`` out; the plan id is one of the rate
card's built-in ids (``governor/savings/prices.py``) or None when nothing says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FREE = "free"
LAUNCH = "launch"
SCALE = "scale"
AGENT = "agent"
ENTERPRISE = "enterprise"
LEGACY_LAUNCH = "legacy_launch"
LEGACY_SCALE = "legacy_scale"
LEGACY_BUSINESS = "legacy_business"
PLAN_IDS: tuple[str, ...] = (
    LAUNCH,
    SCALE,
    FREE,
    AGENT,
    LEGACY_LAUNCH,
    LEGACY_SCALE,
    LEGACY_BUSINESS,
    ENTERPRISE,
)
LEGACY_PLANS: frozenset[str] = frozenset({LEGACY_LAUNCH, LEGACY_SCALE, LEGACY_BUSINESS})

_SUBSCRIPTION_PLANS: dict[str, str] = {
    "free_v2": FREE,
    "free_v3": FREE,
    "launch_v3": LAUNCH,
    "scale_v3": SCALE,
    "launch": LEGACY_LAUNCH,
    "scale": LEGACY_SCALE,
    "business": LEGACY_BUSINESS,
    "direct_sales": ENTERPRISE,
    "direct_sales_v3": ENTERPRISE,
}
_MARKETPLACE_SUBSCRIPTIONS = frozenset({"aws_marketplace", "vercel_pg_legacy"})
_ORG_PLANS: dict[str, str] = {
    "free": FREE,
    "free_v2": FREE,
    "free_v3": FREE,
    "launch": LAUNCH,
    "launch_v3": LAUNCH,
    "scale": SCALE,
    "scale_v3": SCALE,
    "agent": AGENT,
    "enterprise": ENTERPRISE,
    "business": LEGACY_BUSINESS,
}
_AS_LEGACY: dict[str, str] = {
    LAUNCH: LEGACY_LAUNCH,
    SCALE: LEGACY_SCALE,
    AGENT: LEGACY_LAUNCH,
}


def _text(mapping: Mapping[str, Any] | None, key: str) -> str | None:
    value = mapping.get(key) if isinstance(mapping, Mapping) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def billing_plan(
    organization_raw: Mapping[str, Any] | None, project_raw: Mapping[str, Any] | None
) -> tuple[str | None, str]:
    """The organization's billing plan id (None: unknown) and why, in one sentence."""
    owner = project_raw.get("owner") if isinstance(project_raw, Mapping) else None
    subscription = _text(owner if isinstance(owner, Mapping) else None, "subscription_type")
    org_plan = _text(organization_raw, "plan")
    managed_by = _text(organization_raw, "managed_by")
    marketplace = managed_by is not None and managed_by.lower() != "console"

    plan: str | None = None
    why = ""
    key = subscription.lower() if subscription else None
    if key in _SUBSCRIPTION_PLANS:
        plan = _SUBSCRIPTION_PLANS[key]
        why = f"the project owner's subscription_type is {subscription!r}"
    elif key in _MARKETPLACE_SUBSCRIPTIONS:
        marketplace = True
        why = f"the project owner's subscription_type is {subscription!r} (a marketplace)"
    if plan is None and org_plan is not None:
        plan = _ORG_PLANS.get(org_plan.lower())
        reason = f"the organization's plan is {org_plan!r}"
        why = f"{why}; {reason}" if why else reason
    if plan is None:
        if subscription or org_plan:
            return None, (
                f"plan unknown: {why or 'nothing names it'}, which is not a plan the rate "
                "card knows"
            )
        return None, (
            "plan unknown: neither the organization's plan nor the project owner's "
            "subscription_type is known"
        )
    if marketplace and plan in _AS_LEGACY:
        plan = _AS_LEGACY[plan]
        if managed_by is not None and managed_by.lower() != "console":
            why += f", and it is managed by {managed_by!r} (a marketplace: legacy plans only)"
        else:
            why += " (marketplace organizations are on legacy plans)"
    return plan, why
