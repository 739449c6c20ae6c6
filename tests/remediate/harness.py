"""A remediation rig: the simulator over loopback, a client and a store, in stepping time.

Why one clock for both sides: the simulator's operations progress with its monotonic
clock, and the client sleeps through the same ``SteppingClock``, so following an
operation that takes 2 s costs no real time and no test depends on the machine's speed.
Wall time is WORLD_NOW plus the seconds stepped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from governor.config.remediation import RemediationSettings
from governor.neon.client import NeonClient
from governor.pipeline.audit import run_audit
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.policy.loader import load_policies, shipped_policies_path
from governor.remediate.cycle import PassResult, apply_plan, plan_for
from governor.remediate.execute import Executor
from governor.remediate.plan import Plan
from governor.remediate.reconcile import reconcile
from governor.savings.prices import Prices
from governor.simulator import Simulator, SimulatorOptions, World, serve
from governor.store import Store
from governor.sweep import Account
from tests.conftest import WORLD_NOW
from tests.neon.helpers import fast_client
from tests.neon.virtual_time import SteppingClock
from tests.remediate.world import PERSONAL_TOKEN, world_data

ENABLED = RemediationSettings(enabled=True)
START = 1000.0


def shipped(mode: str = "auto", **changes: Any) -> list[Policy]:
    """The shipped policies in ``mode``, without their grace period unless given."""
    return [
        policy.model_copy(update={"mode": mode, "grace": None, **changes})
        for policy in load_policies([shipped_policies_path()])
    ]


def options(**changes: Any) -> SimulatorOptions:
    base: dict[str, Any] = {
        "requests_per_minute": None,
        "requests_per_second_per_route": None,
        "operation_seconds": (2.0, 2.0),
        "seed": 1,
    }
    return SimulatorOptions(**(base | changes))


@dataclass
class Rig:
    simulator: Simulator
    client: NeonClient
    store: Store
    clock: SteppingClock
    policies: list[Policy]
    settings: RemediationSettings = ENABLED
    outcomes_seen: list[Any] = field(default_factory=list)

    def now(self) -> datetime:
        return WORLD_NOW + timedelta(seconds=self.clock.now - START)

    async def audit(self) -> AuditResult:
        return await run_audit(
            accounts=[Account("default", self.client)],
            store=self.store,
            policies=self.policies,
            prices=Prices(),
            clock=self.now,
            trigger="test",
        )

    async def plan(self, **kwargs: Any) -> Plan:
        return await plan_for(
            await self.audit(),
            store=self.store,
            policies=self.policies,
            settings=self.settings,
            now=self.now(),
            **kwargs,
        )

    def executor(self, **changes: Any) -> Executor:
        base = Executor(
            store=self.store,
            clients={"default": self.client},
            policies={policy.name: policy for policy in self.policies},
            settings=self.settings,
            clock=self.now,
            actor="test",
            report=self.outcomes_seen.append,
        )
        return replace(base, **changes)

    async def apply(self, plan: Plan | None = None, **kwargs: Any) -> PassResult:
        executor = self.executor()
        reconciled = await reconcile(executor)
        planned = plan if plan is not None else await self.plan()
        result = await apply_plan(planned, executor=executor, run_id=None, **kwargs)
        result.reconciled = reconciled
        return result

    def mutations(self, *, ok_only: bool = True) -> list[tuple[str, str, Any]]:
        """(method, path, body) of every mutation the simulator answered (2xx only)."""
        return [
            (entry["method"], entry["path"].removeprefix("/api/v2"), entry.get("body"))
            for entry in self.simulator.logged_requests()
            if entry["method"] != "GET" and (not ok_only or 200 <= int(entry["status"]) < 300)
        ]

    def world_branch(self, branch_id: str) -> dict[str, Any] | None:
        for org in self.simulator.world.to_dict()["organizations"]:
            for project in org["projects"]:
                for branch in project["branches"]:
                    if branch["id"] == branch_id:
                        return dict(branch)
        return None

    def world_endpoint(self, endpoint_id: str) -> dict[str, Any] | None:
        for org in self.simulator.world.to_dict()["organizations"]:
            for project in org["projects"]:
                for endpoint in project["endpoints"]:
                    if endpoint["id"] == endpoint_id:
                        return dict(endpoint)
        return None


@asynccontextmanager
async def rig(
    tmp_path: Path,
    *,
    world: dict[str, Any] | None = None,
    simulator_options: SimulatorOptions | None = None,
    policies: list[Policy] | None = None,
    settings: RemediationSettings = ENABLED,
    edit_world: Callable[[dict[str, Any]], None] | None = None,
) -> AsyncIterator[Rig]:
    clock = SteppingClock(START)
    data = world or world_data()
    if edit_world is not None:
        edit_world(data)
    simulator = Simulator(
        World.from_dict(data),
        simulator_options or options(),
        clock=clock,
        now=lambda: WORLD_NOW + timedelta(seconds=clock.now - START),
    )
    with serve(simulator) as base_url:
        async with (
            fast_client(base_url, PERSONAL_TOKEN, clock=clock, sleep=clock.sleep) as client,
            await Store.open_async(tmp_path / "governor.db") as store,
        ):
            yield Rig(simulator, client, store, clock, policies or shipped(), settings)
