"""Operations that progress with the clock: scheduling → running → finished or failed.

Why a chain: one mutation can start several operations (suspend the compute, then delete
the timeline); Neon runs them in order and the mutation takes effect when the last one
finishes. A failed chain changes nothing. Progress is computed lazily from the clock on
each request, so no background thread is needed and tests can drive time.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from governor.simulator.timestamps import format_timestamp

TERMINAL_STATUSES = frozenset({"finished", "failed", "error", "cancelled", "skipped"})
SCHEDULING_SHARE = 0.2  # first part of an operation's duration spent "scheduling"
SIMULATED_FAILURE = "simulated failure (operation_failure_fraction)"


@dataclass(frozen=True)
class Step:
    action: str
    branch_id: str | None = None
    endpoint_id: str | None = None


@dataclass
class _Chain:
    project_id: str
    created_clock: float
    created_at: datetime
    durations: list[float]
    fails: bool
    effect: Callable[[datetime], None]
    operations: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False

    @property
    def ends_at(self) -> float:
        if self.fails:  # the first operation fails; the rest are cancelled with it
            return self.created_clock + self.durations[0]
        return self.created_clock + sum(self.durations)

    def wall_time(self, clock_value: float) -> datetime:
        return self.created_at + timedelta(seconds=max(0.0, clock_value - self.created_clock))


class OperationBook:
    """All operations of the simulated account, indexed by project and id."""

    def __init__(
        self,
        operation_seconds: tuple[float, float],
        failure_fraction: float,
        rng: random.Random,
        new_id: Callable[[], uuid.UUID],
    ) -> None:
        self.operation_seconds = operation_seconds
        self.failure_fraction = failure_fraction
        self._rng = rng
        self._new_id = new_id
        self._by_project: dict[str, list[dict[str, Any]]] = {}
        self._by_id: dict[str, dict[str, Any]] = {}
        self._running: dict[str, list[_Chain]] = {}

    def start(
        self,
        project_id: str,
        steps: list[Step],
        effect: Callable[[datetime], None],
        clock_value: float,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Schedule ``steps`` in order; ``effect(finish_time)`` runs if all of them finish."""
        if not steps:
            effect(now)
            return []
        low, high = self.operation_seconds
        durations = [self._rng.uniform(low, high) for _ in steps]
        fails = self._rng.random() < self.failure_fraction
        chain = _Chain(project_id, clock_value, now, durations, fails, effect)
        stamp = format_timestamp(now)
        for step in steps:
            operation: dict[str, Any] = {"id": str(self._new_id()), "project_id": project_id}
            if step.branch_id is not None:
                operation["branch_id"] = step.branch_id
            if step.endpoint_id is not None:
                operation["endpoint_id"] = step.endpoint_id
            operation.update(
                {
                    "action": step.action,
                    "status": "scheduling",
                    "failures_count": 0,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "total_duration_ms": 0,
                }
            )
            chain.operations.append(operation)
            self._by_project.setdefault(project_id, []).append(operation)
            self._by_id[operation["id"]] = operation
        self._running.setdefault(project_id, []).append(chain)
        self.advance(clock_value)
        return [dict(operation) for operation in chain.operations]

    def advance(self, clock_value: float) -> None:
        """Bring every unfinished operation up to ``clock_value``; apply finished effects."""
        for project_id in list(self._running):
            chains = self._running[project_id]
            for chain in chains:
                _progress(chain, clock_value)
            remaining = [chain for chain in chains if not chain.done]
            if remaining:
                self._running[project_id] = remaining
            else:
                del self._running[project_id]

    def has_running(self, project_id: str) -> bool:
        return project_id in self._running

    def of_project(self, project_id: str) -> list[dict[str, Any]]:
        """Newest first, as Neon lists them."""
        return list(reversed(self._by_project.get(project_id, [])))

    def get(self, project_id: str, operation_id: str) -> dict[str, Any] | None:
        operation = self._by_id.get(operation_id)
        if operation is None or operation["project_id"] != project_id:
            return None
        return operation


def _progress(chain: _Chain, clock_value: float) -> None:
    start = chain.created_clock
    for index, operation in enumerate(chain.operations):
        duration = chain.durations[index]
        if chain.fails and index > 0:
            if clock_value >= chain.ends_at:
                _set(operation, "cancelled", chain.wall_time(chain.ends_at), 0)
            continue
        running_from = start + duration * SCHEDULING_SHARE
        ends = start + duration
        if clock_value >= ends:
            status = "failed" if chain.fails else "finished"
            if operation["status"] != status:
                _set(operation, status, chain.wall_time(ends), _milliseconds(ends - running_from))
                if chain.fails:
                    operation["failures_count"] = 1
                    operation["error"] = SIMULATED_FAILURE
        elif clock_value >= running_from:
            _set(
                operation,
                "running",
                chain.wall_time(running_from),
                _milliseconds(clock_value - running_from),
            )
        start = ends
    if clock_value >= chain.ends_at and not chain.done:
        chain.done = True
        if not chain.fails:
            chain.effect(chain.wall_time(chain.ends_at))


def _set(operation: dict[str, Any], status: str, changed_at: datetime, duration_ms: int) -> None:
    if operation["status"] != status:
        operation["status"] = status
        operation["updated_at"] = format_timestamp(changed_at)
    operation["total_duration_ms"] = duration_ms


def _milliseconds(seconds: float) -> int:
    return max(0, int(seconds * 1000))
