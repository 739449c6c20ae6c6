"""Savings estimates: what acting on a finding would save per month, and the price table."""

from __future__ import annotations

from governor.savings.estimate import estimate, with_estimates

__all__ = ["estimate", "with_estimates"]
