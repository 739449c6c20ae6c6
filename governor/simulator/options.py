"""How the simulator behaves beyond the world: limits, faults, operation timing."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SimulatorOptions:
    """Defaults follow Neon's published limits; every fault is off unless asked for.

    ``unavailable_project_ids``: projects that ``GET /projects`` reports in
    ``unavailable_project_ids`` instead of listing them (Neon does so when it cannot fetch
    their details in time). ``unreadable_project_ids``: projects whose own routes
    (``/projects/{project_id}/...``) always answer 503, to model a part a sweep cannot read.

    ``fail_423``: a seeded fraction of mutating requests (POST, PATCH, DELETE, PUT on any
    route, API key revocations included) answered 423 before they touch anything; reads
    never. ``operation_failure_fraction``: operations that fail for good.
    ``operation_retry_fraction``: operations that fail ``operation_retry_failures`` times,
    ``operation_retry_seconds`` apart, before they finish (see governor.simulator.operations).
    ``clock_skew_seconds``: how far ahead of the real wall clock the ``Date`` header of every
    answer is (a Neon whose clock is off; negative: behind). ``date_header``: False for
    answers without a ``Date`` header (a proxy that strips it: the skew stays unknown).
    """

    requests_per_minute: int | None = 700
    requests_per_second_per_route: int | None = 40
    latency_seconds: tuple[float, float] = (0.0, 0.0)
    fail_500: float = 0.0
    fail_503: float = 0.0
    fail_524: float = 0.0
    fail_423: float = 0.0
    operation_seconds: tuple[float, float] = (0.2, 1.0)
    operation_failure_fraction: float = 0.0
    operation_retry_fraction: float = 0.0
    operation_retry_failures: int = 1
    operation_retry_seconds: float = 1.0
    seed: int | None = None
    unavailable_project_ids: frozenset[str] = frozenset()
    unreadable_project_ids: frozenset[str] = frozenset()
    clock_skew_seconds: float = 0.0
    date_header: bool = True
    storage_unit: str = "byte_months"
    consumption_requests_per_minute: int | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.clock_skew_seconds):
            raise ValueError(f"clock_skew_seconds must be finite, got {self.clock_skew_seconds}")
        if self.storage_unit not in ("byte_months", "byte_hours", "inconsistent"):
            raise ValueError(
                "storage_unit must be byte_months, byte_hours or inconsistent, "
                f"got {self.storage_unit!r}"
            )
        for name in (
            "requests_per_minute", "requests_per_second_per_route",
            "consumption_requests_per_minute",
        ):  # fmt: skip
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 or None, got {value}")
        for name in ("latency_seconds", "operation_seconds"):
            low, high = getattr(self, name)
            if low < 0 or high < low:
                raise ValueError(
                    f"{name} must be (min, max) with 0 <= min <= max, got {(low, high)}"
                )
        for name in (
            "fail_500", "fail_503", "fail_524", "fail_423",
            "operation_failure_fraction", "operation_retry_fraction",
        ):  # fmt: skip
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, got {value}")
        if self.operation_retry_failures < 1:
            raise ValueError(
                f"operation_retry_failures must be at least 1, got {self.operation_retry_failures}"
            )
        if not self.operation_retry_seconds > 0:
            raise ValueError(
                f"operation_retry_seconds must be positive, got {self.operation_retry_seconds}"
            )
        if self.fail_500 + self.fail_503 + self.fail_524 > 1.0:
            raise ValueError("fail_500 + fail_503 + fail_524 must not exceed 1")
