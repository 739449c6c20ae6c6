"""API timestamps read one way: the models', the filters' and the change kinds'.

Why in ``model/``: the change kinds compare expiries, and the policy engine sits above them.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from pydantic import TypeAdapter, ValidationError

# Read timestamps exactly as the API models do (epoch numbers, a lower-case z), so that a
# value the sweep accepted is never "unknown" to a filter.
_TIMESTAMP = TypeAdapter(datetime)


def parse_timestamp(value: object) -> datetime | None:
    """An API timestamp as an aware datetime, read as the models read it; None if not one."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)  # the fast path: the API's own form
        except ValueError:
            moment_or_none = _lenient_timestamp(value)
            if moment_or_none is None:
                return None
            moment = moment_or_none
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment_or_none = _lenient_timestamp(value)
        if moment_or_none is None:
            return None
        moment = moment_or_none
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _lenient_timestamp(value: str | float) -> datetime | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return _TIMESTAMP.validate_python(value)
    except (ValidationError, OverflowError, ValueError):
        return None
