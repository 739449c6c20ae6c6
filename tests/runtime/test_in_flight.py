"""Requests in flight follow the budget unless set: a raised limit needs more of them."""

from __future__ import annotations

from governor.config import NeonSettings, in_flight_for


def test_an_unset_concurrency_keeps_a_raised_budget_busy() -> None:
    assert NeonSettings().concurrency == 16  # Neon's 700/min: 16 is plenty
    assert NeonSettings.model_validate({"requests_per_minute": 60_000}).concurrency == 100
    assert NeonSettings.model_validate({"requests_per_minute": 600_000}).concurrency == 128
    assert in_flight_for(700) == 16


def test_a_set_concurrency_is_kept_whatever_the_budget() -> None:
    settings = NeonSettings.model_validate({"requests_per_minute": 60_000, "concurrency": 8})
    assert settings.concurrency == 8
