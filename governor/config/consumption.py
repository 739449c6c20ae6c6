"""The ``[consumption]`` section: reading Neon's consumption meters, on a budget of its own.

Why a budget apart from ``[neon] requests_per_minute``: Neon publishes no rate limit for
the v2 consumption endpoints; the legacy ones allowed about 30 a minute per account on
their own token bucket (notes/neon-costs.md §3.5). So they are paced apart, at 30 a minute
unless told otherwise, and a 429 is still honoured.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from governor.durations import Duration

MIN_KEEP = timedelta(days=35)  # a whole billing period and its last read


class ConsumptionSettings(BaseModel):
    """Whether and how the governor reads Neon's consumption API."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    enabled: bool = Field(
        default=True,
        description="Read Neon's consumption meters in audits and hourly in the daemon.",
    )
    requests_per_minute: int = Field(
        default=30,
        ge=1,
        le=100_000,
        description="The consumption endpoints' own budget (Neon publishes none for v2).",
    )
    keep: Duration = Field(
        default=timedelta(days=400),
        description="How long the series stay in the store (Neon's hourly lookback is 7 days).",
    )

    @field_validator("keep")
    @classmethod
    def _keep_a_billing_period(cls, value: timedelta) -> timedelta:
        if value < MIN_KEEP:
            raise ValueError(
                "must be at least 35d: a shorter keep drops series of the billing period "
                "being priced"
            )
        return value
