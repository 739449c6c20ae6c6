"""The ``[digest]`` section: when each owner hears about their findings.

Why per owner on a schedule and not per run: an owner reads one message a week (or a day)
with their findings ranked by money and what changed since the last one; nothing is sent
to an owner with nothing new unless they asked for it (``digest_when_empty``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from governor.policy.schedule import validate_schedule


class DigestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    schedule: str | None = Field(
        default=None,
        description="When digests go out: a cron string ('0 9 * * mon') or an interval "
        "('7d'); unset: no digests.",
    )
    top: int = Field(default=25, ge=1, le=200, description="Findings listed per digest.")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        """A typo is a config error at load, not a daemon that cannot schedule digests."""
        return None if value is None else validate_schedule(value)
