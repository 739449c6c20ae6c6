"""What may go into a URL path: Neon's id forms, checked before a request is built.

Why: quoting does not stop dot segments. ``quote("..")`` is still ``..``, and httpx
normalises ``/projects/p/branches/..`` to ``/projects/p``, so a branch delete would become
a project delete. Every path parameter therefore has a rule, taken from the official spec
(``shared/neon-openapi``): project, branch, endpoint and organization ids match
``^[a-z0-9-]{1,60}$``, operation ids are UUIDs, API key ids int64. No prefix (``br-``,
``ep-``, ``org-``) is required: the spec's own examples include an org id without one.
A parameter without a rule, or a route whose literal text could form a dot segment, is
refused as well, so a new route cannot skip the check.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping

from governor.neon.errors import NeonUsageError

NEON_ID = re.compile(r"[a-z0-9-]{1,60}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
MAX_KEY_ID = 2**63 - 1  # the spec's int64
ROUTE_TEXT = re.compile(r"[a-z0-9_/-]*")  # a route's literal text: no dots, no percent
SHOWN_CHARS = 40


def shown(value: object) -> str:
    """``repr`` of a refused value, cut short: it may be long, and it is untrusted."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _refuse(parameter: str, value: object, expected: str) -> NeonUsageError:
    return NeonUsageError(
        f"path parameter {parameter} must be {expected}, got {shown(value)}; nothing was sent",
        parameter=parameter,
        value=value,
    )


def neon_id(parameter: str, value: object) -> str:
    """A project, branch, endpoint or organization id."""
    if isinstance(value, str) and NEON_ID.fullmatch(value):
        return value
    raise _refuse(parameter, value, "1 to 60 lowercase letters, digits or hyphens")


def operation_id(parameter: str, value: object) -> str:
    if isinstance(value, str) and UUID.fullmatch(value):
        return value
    raise _refuse(parameter, value, "a UUID")


def key_id(parameter: str, value: object) -> str:
    # bool is an int in Python; True must not revoke key 1.
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_KEY_ID:
        return str(value)
    raise _refuse(parameter, value, "a positive integer")


RULES: dict[str, Callable[[str, object], str]] = {
    "project_id": neon_id,
    "branch_id": neon_id,
    "endpoint_id": neon_id,
    "snapshot_id": neon_id,
    "org_id": neon_id,
    "operation_id": operation_id,
    "key_id": key_id,
}


def fill_path(route_template: str, path_params: Mapping[str, object]) -> str:
    """``route_template`` with every placeholder replaced by its checked value.

    Raises ``NeonUsageError`` for a value of the wrong form, a missing value, a parameter
    without a rule, or a template with text outside ``[a-z0-9_/-]`` or a format spec.
    """
    values: dict[str, str] = {}
    for literal, name, spec, conversion in string.Formatter().parse(route_template):
        if not ROUTE_TEXT.fullmatch(literal) or spec or conversion:
            raise NeonUsageError(
                f"route {shown(route_template)} must be [a-z0-9_/-] text and plain "
                "{name} placeholders; ids belong in path_params",
                parameter="route_template",
                value=route_template,
            )
        if name is None:
            continue
        rule = RULES.get(name)
        if rule is None:
            raise NeonUsageError(
                f"path parameter {name} has no id rule", parameter=name, value=None
            )
        if name not in path_params:
            raise NeonUsageError(
                f"{route_template}: path parameter {name} is missing", parameter=name, value=None
            )
        values[name] = rule(name, path_params[name])
    return route_template.format_map(values)
