"""Each resource belongs to the account whose sweep read it.

Before: with two ``[[accounts]]`` and no ``organizations``, every remediation was recorded
and re-read under the first account: the second account's changes went out with the first
account's key (and failed, or, with a personal key, succeeded under the wrong account).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from governor.pipeline.audit import run_audit
from governor.remediate.cycle import apply_plan, plan_for
from governor.remediate.decisions import account_for
from governor.remediate.execute import Executor
from governor.savings.prices import Prices
from governor.simulator import Simulator, World, serve
from governor.store import Store, remediations
from governor.sweep import Account
from tests.conftest import WORLD_NOW
from tests.neon.helpers import fast_client
from tests.neon.virtual_time import SteppingClock
from tests.remediate.harness import ENABLED, START, options, shipped
from tests.simulator.worlds import branch, endpoint, organization, project

pytestmark = pytest.mark.anyio

ORGS = ("org-first-1111", "org-second-2222")


def _world() -> dict[str, Any]:
    organizations = []
    for n, org_id in enumerate(ORGS):
        pid = f"proj-{n}-aaaa"
        organizations.append(
            {
                **organization(org_id, f"Org{n}"),
                "api_keys": [],
                "projects": [
                    {
                        **project(pid, org_id, f"p{n}"),
                        "branches": [branch(f"br-main-{n}", pid, "main", default=True)],
                        "endpoints": [
                            endpoint(
                                f"ep-never-{n}",
                                pid,
                                f"br-main-{n}",
                                suspend_timeout_seconds=-1,
                                current_state="active",
                            )
                        ],
                    }
                ],
            }
        )
    keys = {f"sim-org-key-{org_id}": {"kind": "org", "org_id": org_id} for org_id in ORGS}
    return {"keys": keys, "personal_api_keys": [], "organizations": organizations}


async def test_the_second_accounts_remediation_is_recorded_and_sent_with_its_own_key(
    tmp_path: Path,
) -> None:
    clock = SteppingClock(START)

    def now() -> Any:
        return WORLD_NOW + timedelta(seconds=clock.now - START)

    simulator = Simulator(World.from_dict(_world()), options(), clock=clock, now=now)
    policies = [p for p in shipped("auto") if p.name == "never-suspending-computes"]
    with serve(simulator) as base_url:
        async with (
            fast_client(base_url, f"sim-org-key-{ORGS[0]}", clock=clock, sleep=clock.sleep) as a,
            fast_client(base_url, f"sim-org-key-{ORGS[1]}", clock=clock, sleep=clock.sleep) as b,
            await Store.open_async(tmp_path / "governor.db") as store,
        ):
            accounts = [Account("first", a), Account("second", b)]
            audit = await run_audit(
                accounts=accounts,
                store=store,
                policies=policies,
                prices=Prices(),
                clock=now,
                trigger="test",
            )
            plan = await plan_for(
                audit,
                store=store,
                policies=policies,
                settings=ENABLED,
                now=now(),
                accounts=accounts,
            )
            assert {i.resource_id: i.account for i in plan.items} == {
                "ep-never-0": "first",
                "ep-never-1": "second",
            }
            executor = Executor(
                store=store,
                clients={"first": a, "second": b},
                policies={p.name: p for p in policies},
                settings=ENABLED,
                clock=now,
                actor="test",
            )
            result = await apply_plan(plan, executor=executor, run_id=audit.run_id)
            assert sorted(o.state for o in result.outcomes) == ["succeeded", "succeeded"]
            records = {r.resource_id: r for r in await store.run(remediations.listed)}
            assert records["ep-never-1"].account == "second"
            assert records["ep-never-0"].account == "first"
            patches = {
                entry["path"].rsplit("/", 1)[-1]: entry["key"]
                for entry in simulator.logged_requests()
                if entry["method"] == "PATCH"
            }
            assert patches == {"ep-never-0": f"org:{ORGS[0]}", "ep-never-1": f"org:{ORGS[1]}"}
            # a person's own change (a Slack Keep) on the second account's branch
            clients = executor.clients
            assert await account_for(store, clients, "branch", "br-main-1") == "second"
            assert await account_for(store, clients, "branch", "br-main-0") == "first"
