"""Neon's restore-window rule: the ``history_retention_seconds`` a project may have.

One statement shared by the planner and the simulator (like ``compute``): the API accepts
0 to 2592000 seconds (30 days); each plan caps it (Free 6 hours, Launch 7 days, Scale and
the other paid plans 30 days; neon-costs.md §1.2). 0 turns off instant restore and time
travel.
"""

from __future__ import annotations

RETENTION_MAX_SECONDS = 2592000  # 30 days, the API's maximum
_HOUR, _DAY = 3600, 86400
PLAN_RETENTION_MAX_SECONDS: dict[str, int] = {
    "free": 6 * _HOUR,
    "launch": 7 * _DAY,
}


def retention_limit(plan: str | None) -> int:
    """The longest window ``plan`` allows (the API's maximum when the plan is unknown)."""
    if plan is None:
        return RETENTION_MAX_SECONDS
    for prefix, limit in PLAN_RETENTION_MAX_SECONDS.items():
        if plan == prefix or (plan.startswith(prefix) and not plan.startswith("legacy")):
            return limit
    return RETENTION_MAX_SECONDS


def retention_problems(seconds: int, plan: str | None) -> list[str]:
    """Why Neon refuses ``history_retention_seconds = seconds`` on ``plan`` ([]: it accepts)."""
    if isinstance(seconds, bool) or not 0 <= seconds <= RETENTION_MAX_SECONDS:
        return [
            f"{seconds} is not a valid restore window: Neon accepts 0 to "
            f"{RETENTION_MAX_SECONDS} seconds (30 days)"
        ]
    limit = retention_limit(plan)
    if seconds > limit:
        return [
            f"the {plan} plan allows a restore window of at most {limit} seconds: "
            f"{seconds} is longer"
        ]
    return []
