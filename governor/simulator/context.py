"""What a route handler gets: the live world, the caller's scope, the request, the time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from governor.simulator.access import Scope
from governor.simulator.operations import OperationBook
from governor.simulator.options import SimulatorOptions
from governor.simulator.paging import Query
from governor.simulator.world import ProjectState, World

# (status, JSON payload); payload None means an empty body (204).
Answer = tuple[int, Any]


@dataclass
class Tombstones:
    """Ids that existed and were deleted, so a second delete answers 204, not 404."""

    branches: dict[str, set[str]] = field(default_factory=dict)
    endpoints: dict[str, set[str]] = field(default_factory=dict)
    # project id → (deleted at, the project as it was): Neon recovers it for 7 days
    projects: dict[str, tuple[datetime, ProjectState]] = field(default_factory=dict)

    def bury_project(self, state: ProjectState, moment: datetime) -> None:
        self.projects[state.project_id] = (moment, state)

    def bury_branch(self, project_id: str, branch_id: str) -> None:
        self.branches.setdefault(project_id, set()).add(branch_id)

    def bury_endpoint(self, project_id: str, endpoint_id: str) -> None:
        self.endpoints.setdefault(project_id, set()).add(endpoint_id)

    def branch_was_deleted(self, project_id: str, branch_id: str) -> bool:
        return branch_id in self.branches.get(project_id, set())


@dataclass
class Context:
    world: World
    scope: Scope
    params: dict[str, str]
    query: Query
    body: bytes
    now: datetime
    clock_value: float
    options: SimulatorOptions
    operations: OperationBook
    tombstones: Tombstones
    schedule_expiry: Callable[[str, str], None]
    wake_ups: Counter[str] = field(default_factory=Counter)  # endpoint id → PATCH wake-ups


Handler = Callable[[Context], Answer]
