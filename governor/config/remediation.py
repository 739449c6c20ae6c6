"""The ``[remediation]`` section: whether and how much the governor may change in Neon.

Here and not in ``governor.config`` so the remediation layer reads its own settings
without importing the config loader (the config imports it, as it does ``Prices``).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from governor.durations import Duration

MIN_APPROVAL_TTL = timedelta(minutes=1)


def meetable_approval_ttl(value: timedelta) -> timedelta:
    """The floor of every ``approval_ttl`` ([remediation] and [slack]): "0s" made every request
    expire before anyone could read it."""
    if value < MIN_APPROVAL_TTL:
        raise ValueError("must be at least 1m: a shorter request expires before anyone reads it")
    return value


class RemediationSettings(BaseModel):
    """Whether and how much the governor may change in Neon (nothing, until enabled)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    enabled: bool = Field(
        default=False, description="Nothing is ever changed in Neon until this is true."
    )
    max_actions_per_run: int = Field(
        default=50, ge=0, description="Global cap per run; `apply --max N` overrides it."
    )
    max_branch_delete_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="At most this share of one project's branches deleted per run.",
    )
    operation_timeout: Duration = Field(
        default=timedelta(minutes=30),
        description="How long to follow one remediation's Neon operations.",
    )
    approval_ttl: Duration = Field(
        default=timedelta(hours=24),
        description="How long an approval request stays open before it expires.",
    )
    plan_ttl: Duration = Field(
        default=timedelta(hours=24),
        description="How long a plan saved with `plan --out` may be applied.",
    )
    max_clock_skew: Duration = Field(
        default=timedelta(minutes=5),
        description="Destructive actions are refused while Neon's clock and ours differ more.",
    )
    self_key_id: int | None = Field(
        default=None, description="The id of the API key the governor uses: never revoked."
    )
    auto_data_protection: bool = Field(
        default=False,
        description=(
            "Let policies in mode auto act on data-protection and irreversible changes "
            "(restore window, snapshots, backup retention, deletes) without a person."
        ),
    )
    concurrency: int = Field(
        default=4, ge=1, le=64, description="Projects changed in parallel (one at a time each)."
    )

    @field_validator("approval_ttl")
    @classmethod
    def _a_ttl_someone_can_meet(cls, value: timedelta) -> timedelta:
        return meetable_approval_ttl(value)
