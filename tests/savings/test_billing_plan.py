"""The billing plan is read from what Neon says: plan, owner.subscription_type, managed_by."""

from __future__ import annotations

from governor.savings.billing_plan import billing_plan


def test_usage_based_plan_from_the_organizations_plan() -> None:
    assert billing_plan({"plan": "scale", "managed_by": "console"}, None)[0] == "scale"


def test_marketplace_organization_is_on_the_legacy_plan() -> None:
    plan, why = billing_plan({"plan": "launch", "managed_by": "vercel"}, None)
    assert plan == "legacy_launch"
    assert "vercel" in why


def test_subscription_type_free_beats_the_organizations_plan() -> None:
    project = {"owner": {"subscription_type": "free_v3"}}
    assert billing_plan({"plan": "launch"}, project)[0] == "free"


def test_unsuffixed_subscription_type_is_the_legacy_plan() -> None:
    project = {"owner": {"subscription_type": "scale"}}
    assert billing_plan({"plan": "scale", "managed_by": "console"}, project)[0] == "legacy_scale"
    project_v3 = {"owner": {"subscription_type": "scale_v3"}}
    assert billing_plan({"plan": "scale"}, project_v3)[0] == "scale"


def test_direct_sales_is_enterprise_and_aws_marketplace_is_legacy() -> None:
    assert billing_plan(None, {"owner": {"subscription_type": "direct_sales"}})[0] == "enterprise"
    marketplace = {"owner": {"subscription_type": "aws_marketplace"}}
    assert billing_plan({"plan": "scale"}, marketplace)[0] == "legacy_scale"


def test_unknown_plan_says_so_and_returns_none() -> None:
    assert billing_plan(None, None) == (
        None,
        "plan unknown: neither the organization's plan nor the project owner's "
        "subscription_type is known",
    )
    plan, why = billing_plan({"plan": "platinum"}, {"owner": {"subscription_type": "UNKNOWN"}})
    assert plan is None
    assert "'platinum'" in why
