"""One human sentence per finding, built from the fields that decided the match.

E.g. "idle 84 days (last activity 2026-09-03), 1.2 GB" for a branch, "never suspends
(suspend_timeout_seconds -1), autoscaling 0.25-4 CU" for a compute. Booleans that are
False are guards (not default, not protected) and left out: they are not news.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from governor.model.snapshot import ResourceType
from governor.policy.matching import field_value
from governor.policy.operators import parse_timestamp

_TIME_LABELS = {
    "last_activity": "idle {age} (last activity {date})",
    "last_used_at": "last used {age} ago ({date})",
    "created_at": "created {age} ago ({date})",
    "updated_at": "updated {age} ago ({date})",
    "last_active": "last active {age} ago ({date})",
    "backup_taken_at": "an instant restore's backup taken {age} ago ({date})",
    "state_changed_at": "in this state for {age} (since {date})",
    "compute_last_active_at": "computes last active {age} ago ({date})",
}
_TRUE_LABELS = {
    "default": "default branch",
    "protected": "protected",
    "has_children": "has child branches",
    "branch_default": "on the default branch",
    "branch_protected": "on a protected branch",
    "floor_can_drop": "its floor can drop with its maximum kept",
    "disabled": "disabled",
    "logical_replication": "logical replication on (a connected subscriber keeps the compute "
    "awake)",
    "branch_scales_to_zero": "scale to zero on",
    "backup_schedule_without_retention": "its backup schedule keeps snapshots forever (an "
    "item without retention_seconds)",
    "within_free_limits": "inside the Free plan's object limits",
    "manual": "manual snapshot",
}
_MISSING_LABELS = {
    "last_used_at": "never used",
    "last_activity": "no known compute activity",
    "compute_last_active_at": "no compute activity recorded",
    "expires_at": "no expiry",
    "spending_limit_cents": "no spending notification set",
}
# Why a compute with scale to zero on stays awake (note L2): the fix is in the user's code.
KEPT_AWAKE_CAUSES = (
    "likely causes: pollers, health checks, cron jobs, ORM keep-alive queries, "
    "idle-in-transaction sessions, logical replication subscribers"
)
_CU_FIELDS = ("autoscaling_limit_min_cu", "autoscaling_limit_max_cu")


def age_text(moment: datetime, now: datetime) -> str:
    seconds = (now - moment).total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if abs(seconds) >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{int(seconds)} seconds"


def size_text(size: int | float) -> str:
    if isinstance(size, float) and not math.isfinite(size):
        return "an unknown size"
    if size >= 10**18:
        return "more than 1,000,000 TB"  # no real branch; said rather than computed
    for unit, factor in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{int(size)} bytes"


def summarize(
    resource_type: ResourceType, fields: list[str], values: Mapping[str, Any], now: datetime
) -> str:
    phrases: list[str] = []
    for field in fields:
        phrase = _phrase(field, field_value(values, tuple(field.split("."))), values, now)
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    size = values.get("logical_size")
    if resource_type == "branch" and isinstance(size, int | float) and not isinstance(size, bool):
        phrases.append(size_text(size))
    return ", ".join(phrases) if phrases else "matches the policy's filters"


def _phrase(field: str, value: Any, values: Mapping[str, Any], now: datetime) -> str | None:
    special = _SPECIAL.get(field)
    if special is not None:
        return special(value, values)
    if value is None:
        return _MISSING_LABELS.get(field, f"no {field}")
    if isinstance(value, bool):
        return _TRUE_LABELS.get(field, field) if value else None
    moment = parse_timestamp(value) if field in _TIME_LABELS or field.endswith("_at") else None
    if moment is not None:
        template = _TIME_LABELS.get(field, field + " {age} ago ({date})")
        return template.format(age=age_text(moment, now), date=moment.date().isoformat())
    return f"{field} {value}"


def _autosuspend(value: Any, _values: Mapping[str, Any]) -> str:
    if value == -1:
        return "never suspends (suspend_timeout_seconds -1)"
    if value == 0:
        return "suspends after Neon's default 300 s"
    return f"suspends after {value} s"


def _autoscaling(_value: Any, values: Mapping[str, Any]) -> str:
    low, high = (values.get(field) for field in _CU_FIELDS)
    return f"autoscaling {_number(low)}-{_number(high)} CU"


def _compute_count(value: Any, _values: Mapping[str, Any]) -> str:
    if value == 0:
        return "no compute"
    return f"{value} compute{'' if value == 1 else 's'}"


def _active_share(value: Any, values: Mapping[str, Any]) -> str:
    hours = values.get("hours_measured_7d")
    if not isinstance(value, int | float) or not isinstance(hours, int | float):
        return "activity not measured"
    return f"active {round(value * hours)} of the last {_number(hours)} hours ({value:.0%})"


def _floor_share(value: Any, _values: Mapping[str, Any]) -> str:
    if not isinstance(value, int | float):
        return "floor hours not measured"
    return f"{value:.0%} of them at its floor: kept awake ({KEPT_AWAKE_CAUSES})"


def _retention(value: Any, _values: Mapping[str, Any]) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"restore window {value / 86400:g} days ({value} s)"
    return f"history_retention_seconds {value}"


def _extra_branches(value: Any, values: Mapping[str, Any]) -> str:
    included = values.get("included_child_branches")
    return f"{value} child branches beyond the {included} its plan includes"


def _default_timeout(value: Any, _values: Mapping[str, Any]) -> str:
    if value == -1:
        return "new computes never suspend (default_endpoint_settings)"
    return f"new computes suspend after {value} s (default_endpoint_settings)"


def _default_min(value: Any, _values: Mapping[str, Any]) -> str:
    return f"new computes start at a {_number(value)} CU floor (default_endpoint_settings)"


def _created_30d(value: Any, _values: Mapping[str, Any]) -> str:
    return f"{value} branches created in the last 30 days"


def _plan(value: Any, _values: Mapping[str, Any]) -> str:
    return f"on the {value} plan" if value else "plan unknown"


def _scale_features(value: Any, values: Mapping[str, Any]) -> str:
    used = values.get("scale_features_used")
    if value == 0:
        return "uses no Scale-only feature"
    names = ", ".join(used) if isinstance(used, list) else "?"
    return f"uses {value} Scale-only feature{'' if value == 1 else 's'} ({names})"


def _activations(value: Any, _values: Mapping[str, Any]) -> str:
    if value is None:
        return "activations not read"
    return f"{value} activation{'' if value == 1 else 's'} in the last 30 days"


def _compute_type(value: Any, _values: Mapping[str, Any]) -> str:
    return "read replica" if value == "read_only" else f"type {value}"


def _scope(value: Any, _values: Mapping[str, Any]) -> str:
    return f"{value} key"


def _number(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return "a huge number"
    return f"{value:g}" if isinstance(value, int | float) else "?"


_SPECIAL: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "suspend_timeout_seconds": _autosuspend,
    "autoscaling_limit_min_cu": _autoscaling,
    "autoscaling_limit_max_cu": _autoscaling,
    "compute_count": _compute_count,
    "scope": _scope,
    "active_share_7d": _active_share,
    "floor_share_7d": _floor_share,
    "history_retention_seconds": _retention,
    "extra_child_branches": _extra_branches,
    "default_suspend_timeout_seconds": _default_timeout,
    "default_min_cu": _default_min,
    "branches_created_30d": _created_30d,
    "plan": _plan,
    "scale_feature_count": _scale_features,
    "activations_30d": _activations,
    "type": _compute_type,
}
