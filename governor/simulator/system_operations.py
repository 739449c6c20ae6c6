"""Operations the governor did not start: Neon's own ``check_availability``, autosuspend,
archiving. Why model them: they lock a project (423) exactly like the governor's own, and
the governor must retry rather than treat the 423 as its own fault (remediation notes 1.7).

They run a fixed time, never fail and change nothing; they draw nothing from the seeded
generators, so staging one never shifts the faults a seed gives the governor's requests.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from governor.simulator.operations import OperationBook, Step
from governor.simulator.world import World


def start_system_operation(
    world: World,
    operations: OperationBook,
    project_id: str,
    action: str,
    seconds: float,
    *,
    endpoint_id: str | None,
    branch_id: str | None,
    clock_value: float,
    now: datetime,
) -> dict[str, Any]:
    """Start it on ``project_id``; LookupError for an unknown project, endpoint or branch,
    ValueError for a bad action or duration."""
    if not isinstance(action, str) or not action.replace("_", "").isalpha():
        raise ValueError(f"action must be an operation action name, got {action!r}")
    if not _is_positive_number(seconds):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    state = world.project(project_id)
    if state is None:
        raise LookupError(f"project {project_id!r} not found")
    if endpoint_id is not None:
        endpoint = state.endpoints.get(endpoint_id)
        if endpoint is None:
            raise LookupError(f"endpoint {endpoint_id!r} not found")
        branch_id = branch_id or endpoint["branch_id"]
    if branch_id is not None and branch_id not in state.branches:
        raise LookupError(f"branch {branch_id!r} not found")
    operations.advance(clock_value)
    (operation,) = operations.start(
        project_id,
        [Step(action, branch_id, endpoint_id)],
        lambda _: None,
        clock_value,
        now,
        durations=[float(seconds)],
    )
    return operation


def _is_positive_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
