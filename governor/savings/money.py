"""Money as the estimates show it: rounded half-up to cents on the decimal values shown."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

_CENT = Decimal("0.01")


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def unit_price(amount: float) -> str:
    """A price as published: at least cents, more digits when it has them ($0.106)."""
    text = f"{amount:.4f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def cu(value: float) -> str:
    return f"{value:g} CU"


def cents(*factors: float) -> float:
    """The product in USD, rounded half-up to cents, computed on the decimal values shown.

    Decimal so that a hand-computed 0.25 x 730 x 0.106 = 19.345 rounds to 19.35, as a person
    checking the method would expect, not to binary float's 19.34.
    """
    product = Decimal(1)
    for factor in factors:
        product *= Decimal(str(factor))
    return float(product.quantize(_CENT, rounding=ROUND_HALF_UP))
