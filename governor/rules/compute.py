"""Neon's compute size and suspend-timeout rules, and the cheapest valid resize target.

Sources (see ../shared/notes/neon-costs.md §1.2, L1, L4):
- Compute sizes: 0.25, 0.5, then whole CU to 16, then even CU to 56
  (https://neon.com/docs/manage/computes, "Compute size and autoscaling configuration").
- Autoscaling spans 0.25 to 16 CU, "the difference between your maximum and minimum cannot
  exceed 8 CU"; fixed sizes go to 56 CU (same page; guides/autoscaling-guide).
- "When the autoscaling maximum is > 10, the autoscaling minimum must be ≥ max/8"
  (guides/autoscaling-guide, earlier revision). Kept: a pair must pass every documented rule.
- "Scale to zero is only available for computes up to 16 CU in size. Computes larger than 16 CU
  remain always active" (manage/computes). Scale to zero is not available there, so a timeout
  that asks for it (anything but -1) is refused, not silently ignored: a governor that set it
  would claim a saving Neon never makes.
- Suspend timeouts: -1 never, 0 Neon's default (300 s), else 60 to 604800 s (the spec's
  ``SuspendTimeoutSeconds``); Free fixes it at 5 minutes; Launch has 5 minutes or disabled;
  Scale (and the other paid plans) 1 minute to always on (plans.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_CU = 0.25
AUTOSCALING_MAX_CU = 16.0
FIXED_MAX_CU = 56.0
MAX_RANGE_CU = 8.0
SCALE_TO_ZERO_MAX_CU = 16.0
# Above this maximum the autoscaling minimum must be at least max/8.
MAX_OVER_EIGHTH_ABOVE_CU = 10.0

SUSPEND_NEVER = -1
SUSPEND_DEFAULT = 0  # Neon's default, 300 s
SUSPEND_DEFAULT_SECONDS = 300
SUSPEND_MIN_SECONDS = 60
SUSPEND_MAX_SECONDS = 604800

# Every compute size Neon offers (manage/computes): shared 0.25 and 0.5, whole CU to 16, then
# even CU to 56 (fixed sizes only).
COMPUTE_SIZES: tuple[float, ...] = (
    0.25,
    0.5,
    *(float(cu) for cu in range(1, 17)),
    *(float(cu) for cu in range(18, 57, 2)),
)
_EPSILON = 1e-9


def _cu(value: float) -> str:
    return f"{value:g} CU"


def is_compute_size(cu: float) -> bool:
    """True when ``cu`` is one of the sizes Neon offers."""
    return any(abs(cu - size) < _EPSILON for size in COMPUTE_SIZES)


def size_at_or_above(cu: float) -> float | None:
    """The smallest size Neon offers that is at least ``cu`` (None above 56 CU)."""
    for size in COMPUTE_SIZES:
        if size >= cu - _EPSILON:
            return size
    return None


def size_at_or_below(cu: float) -> float | None:
    """The largest size Neon offers that is at most ``cu`` (None below 0.25 CU)."""
    for size in reversed(COMPUTE_SIZES):
        if size <= cu + _EPSILON:
            return size
    return None


def size_problems(min_cu: float, max_cu: float) -> list[str]:
    """Why Neon refuses the pair ``min_cu``-``max_cu`` ([] when it accepts it)."""
    problems: list[str] = []
    for name, value in (("minimum", min_cu), ("maximum", max_cu)):
        if not math.isfinite(value) or value < MIN_CU - _EPSILON:
            problems.append(f"the {name} {value:g} CU is below Neon's smallest compute, 0.25 CU")
        elif not is_compute_size(value):
            problems.append(
                f"the {name} {value:g} CU is not a size Neon offers "
                "(0.25, 0.5, whole CU to 16, even CU to 56)"
            )
    if problems:
        return problems
    if max_cu < min_cu - _EPSILON:
        return [f"the maximum {_cu(max_cu)} is below the minimum {_cu(min_cu)}"]
    if abs(max_cu - min_cu) < _EPSILON:
        if max_cu > FIXED_MAX_CU + _EPSILON:
            problems.append(f"a fixed size of {_cu(max_cu)} is above Neon's largest, 56 CU")
        return problems
    if max_cu > AUTOSCALING_MAX_CU + _EPSILON:
        problems.append(
            f"Neon autoscales up to 16 CU only: {_range(min_cu, max_cu)} must be a fixed size"
        )
    if max_cu - min_cu > MAX_RANGE_CU + _EPSILON:
        problems.append(
            f"Neon's autoscaling range spans at most 8 CU: {_range(min_cu, max_cu)} "
            f"spans {max_cu - min_cu:g} CU"
        )
    if max_cu > MAX_OVER_EIGHTH_ABOVE_CU + _EPSILON and min_cu < max_cu / 8 - _EPSILON:
        problems.append(
            f"when the autoscaling maximum is above 10 CU the minimum must be at least max/8: "
            f"{_cu(min_cu)} is below {max_cu / 8:g} CU"
        )
    return problems


def lowest_valid_min(max_cu: float) -> float | None:
    """The lowest minimum Neon accepts in an autoscaling range up to ``max_cu``.

    None when no autoscaling range has this maximum (above 16 CU only fixed sizes exist, and
    below 0.5 CU there is no room for a range).
    """
    if not is_compute_size(max_cu) or max_cu > AUTOSCALING_MAX_CU + _EPSILON:
        return None
    bound = max(MIN_CU, max_cu - MAX_RANGE_CU)
    if max_cu > MAX_OVER_EIGHTH_ABOVE_CU + _EPSILON:
        bound = max(bound, max_cu / 8)
    lowest = size_at_or_above(bound)
    if lowest is None or lowest >= max_cu - _EPSILON:
        return None
    return lowest


def _plan_family(plan: str | None) -> str:
    if plan is None:
        return "unknown"
    if plan == "free" or plan.startswith("free"):
        return "free"
    if plan == "launch" or (plan.startswith("launch") and not plan.startswith("legacy")):
        return "launch"
    return "paid"


def suspend_problems(seconds: int, plan: str | None, min_cu: float, max_cu: float) -> list[str]:
    """Why Neon refuses ``suspend_timeout_seconds = seconds`` here ([] when it accepts it).

    ``plan`` is the billing plan id (``free``, ``launch``, ``scale``, ``agent``, ``legacy_*``,
    ``enterprise``) or None (unknown: only the spec's range applies). ``min_cu``/``max_cu``
    are the compute's limits after the change.
    """
    in_spec = seconds in (SUSPEND_NEVER, SUSPEND_DEFAULT) or (
        SUSPEND_MIN_SECONDS <= seconds <= SUSPEND_MAX_SECONDS
    )
    if not in_spec:
        return [
            f"{seconds} is not a valid suspend timeout: Neon accepts -1 (never), 0 (its "
            f"default, 300 s) or {SUSPEND_MIN_SECONDS} to {SUSPEND_MAX_SECONDS} seconds"
        ]
    problems: list[str] = []
    family = _plan_family(plan)
    if family == "free" and seconds not in (SUSPEND_DEFAULT, SUSPEND_DEFAULT_SECONDS):
        problems.append(
            f"the Free plan fixes scale to zero at 5 minutes: {seconds} is not 0 or 300"
        )
    elif family == "launch" and seconds not in (
        SUSPEND_NEVER,
        SUSPEND_DEFAULT,
        SUSPEND_DEFAULT_SECONDS,
    ):
        problems.append(
            f"the Launch plan allows scale to zero after 5 minutes or never: {seconds} is not "
            "0, 300 or -1"
        )
    if max(min_cu, max_cu) > SCALE_TO_ZERO_MAX_CU + _EPSILON and seconds != SUSPEND_NEVER:
        problems.append(
            f"computes above 16 CU never scale to zero ({_cu(max(min_cu, max_cu))}): only -1 "
            "(never) applies"
        )
    return problems


@dataclass(frozen=True)
class ResizeTarget:
    """A pair Neon accepts, and why it was chosen (for the plan's notes)."""

    min_cu: float
    max_cu: float
    why: str
    reduces_peak: bool


@dataclass(frozen=True)
class NeedsPerson:
    """No target is valid without a person's choice; ``reason`` says which choice."""

    reason: str


def _range(min_cu: float, max_cu: float) -> str:
    return f"{min_cu:g}-{max_cu:g} CU"


def _floor_share(new_min: float, old_min: float) -> str:
    if old_min <= 0 or new_min >= old_min - _EPSILON:
        return ""
    if abs(new_min / old_min - 0.5) < _EPSILON:
        return ", half the floor"
    return f", the floor down from {_cu(old_min)} to {_cu(new_min)}"


def _largest_max_for(min_cu: float, ceiling: float) -> float | None:
    """The largest autoscaling maximum at or below ``ceiling`` that ``min_cu`` is valid with."""
    cap = min(ceiling, AUTOSCALING_MAX_CU, min_cu + MAX_RANGE_CU)
    if cap > MAX_OVER_EIGHTH_ABOVE_CU:
        cap = min(cap, max(MAX_OVER_EIGHTH_ABOVE_CU, min_cu * 8))
    size = size_at_or_below(cap)
    while size is not None and size > min_cu + _EPSILON:
        if not size_problems(min_cu, size):
            return size
        size = size_at_or_below(size - 0.01)
    return None


def cheapest_target(
    *,
    current_min: float,
    current_max: float,
    asked_min: float,
    asked_max: float | None,
    lower_max: bool,
) -> ResizeTarget | NeedsPerson:
    """The valid target with the lowest floor for what the policy asked.

    The maximum is kept unless the policy asked for another (``asked_max``) or allowed lowering
    it (``lower_max``); then ``reduces_peak`` says so. A target equal to the current limits means
    no change.
    """
    if asked_max is not None and abs(asked_max - current_max) < _EPSILON:
        asked_max = None  # the current maximum asked is "keep it" (resolved actions write it)
    asked = f"asked {_cu(asked_min)}" + (
        f"-{_cu(asked_max)}" if asked_max is not None else " keeping the maximum"
    )
    if asked_max is not None and asked_max < asked_min - _EPSILON:
        return NeedsPerson(f"{asked}: the asked maximum is below the asked minimum")
    if asked_min >= current_min - _EPSILON and (
        asked_max is None or asked_max >= current_max - _EPSILON
    ):
        return ResizeTarget(
            float(current_min),
            float(current_max),
            f"{asked}: the minimum is already {_cu(current_min)}, no change",
            reduces_peak=False,
        )
    wanted_min = size_at_or_above(max(asked_min, MIN_CU))
    if wanted_min is None:
        return NeedsPerson(f"{asked}: no compute size Neon offers is that large")
    if asked_max is not None:
        target_max = size_at_or_below(asked_max)
        if target_max is None or target_max < wanted_min - _EPSILON:
            return NeedsPerson(f"{asked}: no compute size Neon offers fits that range")
        return _target_with_max(asked, current_min, current_max, wanted_min, target_max)
    keep = _target_with_max(asked, current_min, current_max, wanted_min, current_max)
    if isinstance(keep, ResizeTarget) and abs(keep.min_cu - wanted_min) < _EPSILON:
        return keep
    if not lower_max:
        if isinstance(keep, ResizeTarget) and keep.min_cu < current_min - _EPSILON:
            return keep
        reason = keep.reason if isinstance(keep, NeedsPerson) else keep.why
        return NeedsPerson(
            f"{reason}; a lower floor needs a lower maximum, which the policy did not allow "
            "(lower_max)"
        )
    lowered_max = _largest_max_for(wanted_min, current_max)
    if lowered_max is None:
        return keep if isinstance(keep, ResizeTarget) else NeedsPerson(keep.reason)
    return ResizeTarget(
        float(wanted_min),
        float(lowered_max),
        f"{asked}; {_binding_rule(current_max)} and the policy allows lowering the maximum, "
        f"so {_range(wanted_min, lowered_max)} (from {_range(current_min, current_max)})"
        f"{_floor_share(wanted_min, current_min)}; reduces peak capacity",
        reduces_peak=lowered_max < current_max - _EPSILON,
    )


def _binding_rule(max_cu: float) -> str:
    """The documented rule that sets the lowest minimum for ``max_cu``."""
    if max_cu > MAX_OVER_EIGHTH_ABOVE_CU and max_cu / 8 > max_cu - MAX_RANGE_CU:
        return "above a 10 CU maximum Neon requires a minimum of at least max/8"
    return "Neon's autoscaling range spans at most 8 CU"


def _target_with_max(
    asked: str, current_min: float, current_max: float, wanted_min: float, target_max: float
) -> ResizeTarget | NeedsPerson:
    """The lowest valid floor at or above ``wanted_min`` with the maximum ``target_max``."""
    reduces_peak = target_max < current_max - _EPSILON
    peak = "; reduces peak capacity" if reduces_peak else ""
    if abs(wanted_min - target_max) < _EPSILON:
        new_min = target_max
        if size_problems(new_min, target_max):
            return NeedsPerson(f"{asked}: {_cu(target_max)} is not a size Neon offers")
        why = f"{asked}: a fixed {_cu(target_max)}"
    else:
        lowest = lowest_valid_min(target_max)
        if lowest is None:
            if size_problems(target_max, target_max):
                return NeedsPerson(f"{asked}: {_cu(target_max)} is not a size Neon offers")
            new_min = target_max
            why = (
                f"{asked}: Neon autoscales up to 16 CU only, so a {_cu(target_max)} maximum "
                f"means a fixed {_cu(target_max)}"
            )
        elif lowest > wanted_min + _EPSILON:
            new_min = lowest
            why = (
                f"{asked}: {_binding_rule(target_max)}, so the lowest valid minimum with a "
                f"{_cu(target_max)} maximum is {_cu(lowest)}: {_range(lowest, target_max)}"
            )
        else:
            new_min = wanted_min
            why = f"{asked}: {_range(wanted_min, target_max)}"
    if new_min >= current_min - _EPSILON and not reduces_peak:
        return NeedsPerson(f"{why}; that is not below the current {_cu(current_min)} minimum")
    return ResizeTarget(
        float(new_min),
        float(target_max),
        f"{why}{_floor_share(new_min, current_min)}{peak}",
        reduces_peak=reduces_peak,
    )
