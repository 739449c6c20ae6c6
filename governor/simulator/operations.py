"""Operations that progress with the clock: scheduling → running → finished, failed or retried.

Why a chain: one mutation can start several operations (suspend the compute, then delete
the timeline); Neon runs them in order and the mutation takes effect when the last one
finishes. Why a timeline: every phase of every operation is fixed (from seeded draws) when
the chain starts, and the status at any clock value is read off it lazily on each request,
so no background thread is needed and tests can drive time.

Two kinds of failure, because Neon's docs say "a failed operation is not terminal and may
be retried":

- *retried* (``operation_retry_fraction``): the operation fails
  ``operation_retry_failures`` times, each time showing ``failed`` with ``failures_count``,
  ``error`` and ``retry_at`` (when it runs again), then runs again and finishes. The chain
  is unfinished meanwhile, so the project stays locked (423). ``error`` and ``retry_at``
  stay after the retry: the spec describes ``retry_at`` as when it "was last retried".
- *final* (``operation_failure_fraction``): the chain's first operation fails for good (no
  ``retry_at``), the rest are cancelled, and the mutation changes nothing.
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
SCHEDULING_SHARE = 0.2  # first part of each attempt spent "scheduling"
SIMULATED_FAILURE = "simulated failure (operation_failure_fraction)"
RETRIED_FAILURE = "simulated transient failure (operation_retry_fraction); will be retried"

Hook = Callable[[datetime], None]


@dataclass(frozen=True)
class Step:
    """One operation of a chain; ``on_running`` runs when it first starts running."""

    action: str
    branch_id: str | None = None
    endpoint_id: str | None = None
    on_running: Hook | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Faults:
    """What may go wrong with a chain's operations (all off for system operations)."""

    failure_fraction: float = 0.0
    retry_fraction: float = 0.0
    retry_failures: int = 1
    retry_seconds: float = 1.0


@dataclass(frozen=True)
class _Phase:
    """An operation's state from ``start`` (a clock value) until the next phase."""

    status: str
    start: float
    failures: int
    ran_before: float  # running seconds in earlier attempts
    retry_at: float | None = None
    error: str | None = None


@dataclass
class _Operation:
    payload: dict[str, Any]
    phases: list[_Phase]
    on_running: Hook | None
    running_from: float | None  # first time it runs; None when cancelled
    hooked: bool = False


@dataclass
class _Chain:
    created_clock: float
    created_at: datetime
    ends_at: float
    fails: bool
    effect: Hook
    on_failure: Hook | None
    operations: list[_Operation] = field(default_factory=list)
    done: bool = False

    def wall_time(self, clock_value: float) -> datetime:
        return self.created_at + timedelta(seconds=max(0.0, clock_value - self.created_clock))


class OperationBook:
    """All operations of the simulated account, indexed by project and id."""

    def __init__(
        self,
        operation_seconds: tuple[float, float],
        faults: Faults,
        rng: random.Random,
        new_id: Callable[[], uuid.UUID],
    ) -> None:
        self.operation_seconds = operation_seconds
        self.faults = faults
        self._rng = rng
        self._new_id = new_id
        self._by_project: dict[str, list[dict[str, Any]]] = {}
        self._by_id: dict[str, dict[str, Any]] = {}
        self._running: dict[str, list[_Chain]] = {}

    def start(
        self,
        project_id: str,
        steps: list[Step],
        effect: Hook,
        clock_value: float,
        now: datetime,
        *,
        on_failure: Hook | None = None,
        durations: list[float] | None = None,
    ) -> list[dict[str, Any]]:
        """Schedule ``steps`` in order; ``effect(finish_time)`` runs if all of them finish,
        ``on_failure(failure_time)`` if the chain fails for good.

        ``durations`` fixes each step's duration and turns faults off (system operations,
        which must not shift the seeded draws of the governor's own operations).
        """
        if not steps:
            effect(now)
            return []
        if durations is None:
            low, high = self.operation_seconds
            durations = [self._rng.uniform(low, high) for _ in steps]
            fails = self._rng.random() < self.faults.failure_fraction
            retried = [
                self.faults.retry_fraction > 0 and self._rng.random() < self.faults.retry_fraction
                for _ in steps
            ]
        else:
            fails, retried = False, [False] * len(steps)
        phases, ends_at = _timelines(clock_value, durations, retried, fails, self.faults)
        chain = _Chain(clock_value, now, ends_at, fails, effect, on_failure)
        stamp = format_timestamp(now)
        for step, timeline in zip(steps, phases, strict=True):
            payload: dict[str, Any] = {"id": str(self._new_id()), "project_id": project_id}
            if step.branch_id is not None:
                payload["branch_id"] = step.branch_id
            if step.endpoint_id is not None:
                payload["endpoint_id"] = step.endpoint_id
            payload.update(
                {
                    "action": step.action,
                    "status": "scheduling",
                    "failures_count": 0,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "total_duration_ms": 0,
                }
            )
            running = [phase.start for phase in timeline if phase.status == "running"]
            chain.operations.append(
                _Operation(payload, timeline, step.on_running, running[0] if running else None)
            )
            self._by_project.setdefault(project_id, []).append(payload)
            self._by_id[payload["id"]] = payload
        self._running.setdefault(project_id, []).append(chain)
        self.advance(clock_value)
        return [dict(operation.payload) for operation in chain.operations]

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

    def running_project_ids(self) -> list[str]:
        """Projects with an unfinished chain: a few, where the world may hold 30,000."""
        return list(self._running)

    def has_running(self, project_id: str) -> bool:
        """True while any chain of the project is unfinished, retry pending included."""
        return project_id in self._running

    def of_project(self, project_id: str) -> list[dict[str, Any]]:
        """Newest first, as Neon lists them."""
        return list(reversed(self._by_project.get(project_id, [])))

    def get(self, project_id: str, operation_id: str) -> dict[str, Any] | None:
        operation = self._by_id.get(operation_id)
        if operation is None or operation["project_id"] != project_id:
            return None
        return operation


def _timelines(
    start: float, durations: list[float], retried: list[bool], fails: bool, faults: Faults
) -> tuple[list[list[_Phase]], float]:
    """Every operation's phases, run one after another from ``start``; and the chain's end.

    A queued operation shows ``scheduling`` from the chain's start, as Neon lists it.
    """
    timelines: list[list[_Phase]] = []
    at = start
    for index, duration in enumerate(durations):
        if fails and index > 0:  # cancelled together with the failed first operation
            timelines.append([_Phase("scheduling", start, 0, 0.0)])
            continue
        failures = faults.retry_failures if retried[index] and not fails else 0
        phases: list[_Phase] = []
        ran = 0.0
        retry_at: float | None = None
        error: str | None = None
        for attempt in range(failures + 1):
            running_from = at + duration * SCHEDULING_SHARE
            ends = at + duration
            queued_from = start if attempt == 0 else at
            phases.append(_Phase("scheduling", queued_from, attempt, ran, retry_at, error))
            phases.append(_Phase("running", running_from, attempt, ran, retry_at, error))
            ran += ends - running_from
            at = ends
            if attempt < failures:
                retry_at, error = ends + faults.retry_seconds, RETRIED_FAILURE
                phases.append(_Phase("failed", ends, attempt + 1, ran, retry_at, error))
                at = retry_at
        if fails:
            phases.append(_Phase("failed", at, 1, ran, None, SIMULATED_FAILURE))
        else:
            phases.append(_Phase("finished", at, failures, ran, retry_at, error))
        timelines.append(phases)
    if fails:
        for timeline in timelines[1:]:
            timeline.append(_Phase("cancelled", at, 0, 0.0))
    return timelines, at


def _progress(chain: _Chain, clock_value: float) -> None:
    for operation in chain.operations:
        if (
            operation.on_running is not None
            and not operation.hooked
            and operation.running_from is not None
            and clock_value >= operation.running_from
        ):
            operation.hooked = True
            operation.on_running(chain.wall_time(operation.running_from))
        _show(chain, operation, clock_value)
    if clock_value >= chain.ends_at and not chain.done:
        chain.done = True
        moment = chain.wall_time(chain.ends_at)
        if not chain.fails:
            chain.effect(moment)
        elif chain.on_failure is not None:
            chain.on_failure(moment)


def _show(chain: _Chain, operation: _Operation, clock_value: float) -> None:
    """Write the phase current at ``clock_value`` into the operation's API object."""
    phase = operation.phases[0]
    for candidate in operation.phases:
        if candidate.start > clock_value:
            break
        phase = candidate
    ran = phase.ran_before
    if phase.status == "running":
        ran += clock_value - phase.start
    payload = operation.payload
    payload["status"] = phase.status
    payload["failures_count"] = phase.failures
    payload["updated_at"] = format_timestamp(chain.wall_time(phase.start))
    payload["total_duration_ms"] = _milliseconds(ran)
    _set_optional(payload, "error", phase.error)
    retry_at = None if phase.retry_at is None else format_timestamp(chain.wall_time(phase.retry_at))
    _set_optional(payload, "retry_at", retry_at)


def _set_optional(payload: dict[str, Any], name: str, value: str | None) -> None:
    """Optional fields appear only when set, as the spec's Operation has them."""
    if value is None:
        payload.pop(name, None)
    else:
        payload[name] = value


def _milliseconds(seconds: float) -> int:
    return max(0, int(seconds * 1000))
