"""The rate card: every plan Neon bills, dated, with the lines Neon bills and the old config."""

from __future__ import annotations

from governor.savings.prices import Prices
from governor.savings.units import BYTES_PER_GB, HOURS_PER_GB_MONTH, HOURS_PER_MONTH


def test_units_are_decimal_gb_and_the_744_hour_gb_month() -> None:
    assert (BYTES_PER_GB, HOURS_PER_GB_MONTH, HOURS_PER_MONTH) == (10**9, 744, 730)


def test_the_missing_billed_lines_are_priced_on_usage_based_plans() -> None:
    prices = Prices()
    for plan in ("launch", "scale"):
        card = prices.for_plan(plan)
        assert card.instant_restore_per_gb_month == 0.20
        assert card.snapshot_per_gb_month == 0.09
        assert (card.public_transfer_per_gb, card.public_transfer_included_gb) == (0.10, 100.0)
        assert card.taken_on == "2026-11-12"
        assert "neon.com/docs/introduction/plans" in card.source
    assert prices.for_plan("scale").private_transfer_per_gb == 0.01
    assert prices.for_plan("launch").private_transfer_per_gb == 0.0  # PrivateLink: Scale only


def test_every_built_in_plan_has_its_kind_and_free_is_never_billed() -> None:
    prices = Prices()
    kinds = {name: (card.kind, card.billed) for name, card in prices.plans.items()}
    assert kinds == {
        "launch": ("usage", True),
        "scale": ("usage", True),
        "free": ("free", False),
        "agent": ("usage", True),
        "legacy_launch": ("legacy", True),
        "legacy_scale": ("legacy", True),
        "legacy_business": ("legacy", True),
        "enterprise": ("custom", True),
    }
    legacy = prices.for_plan("legacy_scale")
    assert (legacy.base_fee_per_month, legacy.compute_hours_included) == (69.0, 750.0)
    assert prices.for_plan("enterprise").compute_per_cu_hour == 0.0


def test_an_old_config_with_launch_and_scale_tables_still_loads_and_keeps_the_new_plans() -> None:
    prices = Prices.model_validate(
        {
            "taken_on": "2026-11-27",
            "default_plan": "launch",
            "plans": {
                "launch": {"compute_per_cu_hour": 0.106, "storage_per_gb_month": 0.35},
                "scale": {"compute_per_cu_hour": 0.222, "included_branches_per_project": 25},
            },
        }
    )
    assert prices.for_plan("launch").snapshot_per_gb_month == 0.09
    assert prices.for_plan("launch").taken_on == "2026-11-27"  # the config's own date
    assert prices.for_plan("free").billed is False


def test_an_enterprise_table_in_the_config_prices_the_custom_plan() -> None:
    prices = Prices.model_validate(
        {"plans": {"enterprise": {"compute_per_cu_hour": 0.09, "storage_per_gb_month": 0.3}}}
    )
    card = prices.for_plan("enterprise")
    assert (card.kind, card.compute_per_cu_hour) == ("usage", 0.09)
