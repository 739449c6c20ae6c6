"""The ``[savings]`` section: when and how a remediation's realized saving is measured.

Why settings: Neon's meters settle (a compute's last sessions drain, storage ages out of
the restore window) and a week smooths weekday and weekend workloads; a team whose
workload runs monthly may want longer. The rest of the method is fixed (note §3.7).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from governor.costs.realized import Windows
from governor.durations import Duration

MIN_MEASURE_FOR = timedelta(days=7)  # the note's minimum: a whole week of workload
MAX_MEASURE_FOR = timedelta(days=45)  # Neon's daily lookback is 60 days


class SavingsSettings(BaseModel):
    """How long to let a change settle, how long to measure, and what counts as drift."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    settle: Duration = Field(
        default=timedelta(days=1),
        description="Wait this long after a remediation succeeds before measuring "
        "(Neon's 1 hour reporting lag comes on top).",
    )
    measure_for: Duration = Field(
        default=timedelta(days=7),
        description="Measure the same meters over this long after settling (at least 7d).",
    )
    drift_threshold: float = Field(
        default=0.2,
        gt=0.0,
        le=10.0,
        description="Flag a measurement when the rest of the project moved by more than "
        "this share (0.2: 20%): the workload changed, not only the resource.",
    )

    @field_validator("measure_for")
    @classmethod
    def _a_week_or_more(cls, value: timedelta) -> timedelta:
        if value < MIN_MEASURE_FOR:
            raise ValueError("must be at least 7d: a shorter window mistakes a quiet week day")
        if value > MAX_MEASURE_FOR:
            raise ValueError("must be at most 45d: Neon's daily series reach back 60 days")
        return value

    @field_validator("settle")
    @classmethod
    def _a_bounded_settle(cls, value: timedelta) -> timedelta:
        if value > timedelta(days=14):
            raise ValueError("must be at most 14d: a longer wait outlives Neon's daily series")
        return value

    def windows(self) -> Windows:
        return Windows(
            settle=self.settle,
            measure_for=self.measure_for,
            drift_threshold=self.drift_threshold,
        )
