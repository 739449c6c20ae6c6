"""Realized savings end to end: apply in the simulator, read its meters day by day, measure.

The simulator meters every hour from its world (governor.simulator.usage), so a compute
whose suspend timeout the remediation sets to 300 s bills less from the change on. The
test steps time (no sleeps), reads consumption the way the daemon does (C2's reader, into
the store), runs the measurement pass and compares the realized saving with the drop the
simulator's own ledger metered over the same hours.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from governor.cli import app
from governor.config import Config
from governor.costs.realized import day_ceil, days_in_month
from governor.daemon.jobs import JobContext, consumption_jobs
from governor.model.consumption import COMPUTE_UNIT_SECONDS
from governor.observability.metrics import Metrics
from governor.pipeline.consumption import read_consumption
from governor.report.formats import render_audit
from governor.runtime import Runtime
from governor.savings.prices import Prices
from governor.simulator.timestamps import format_timestamp
from governor.slack.report_message import report_message
from governor.store import realized
from governor.store.realized import RealizedRecord
from governor.sweep import Account
from tests.conftest import WORLD_NOW
from tests.remediate.harness import Rig, rig, shipped
from tests.remediate.world import ACTIVE, ORG_ID, PROJECT_ID, RECENT
from tests.simulator.worlds import endpoint

pytestmark = pytest.mark.anyio

ALWAYS_ON = "ep-always-on-2"  # its draws make it a business-hours compute once it may sleep
POLLER = "ep-poller-2"  # its draws make it a poller: 1 CU every hour (the rest of the project)
MAIN = "br-main-1"
DAY = timedelta(days=1)


def two_computes(data: dict[str, Any]) -> None:
    """The fix project's computes: one that never suspends on main, a poller elsewhere."""
    (project,) = [p for p in data["organizations"][0]["projects"] if p["id"] == PROJECT_ID]
    project["endpoints"] = [
        endpoint(
            ALWAYS_ON,
            PROJECT_ID,
            MAIN,
            suspend_timeout_seconds=-1,
            autoscaling_limit_min_cu=1,
            autoscaling_limit_max_cu=4,
            current_state="active",
            started_at=RECENT,
            last_active=RECENT,
        ),
        endpoint(
            POLLER,
            PROJECT_ID,
            ACTIVE,
            suspend_timeout_seconds=300,
            autoscaling_limit_min_cu=1,
            autoscaling_limit_max_cu=2,
            current_state="active",
            started_at=RECENT,
            last_active=RECENT,
        ),
    ]


@asynccontextmanager
async def applied(tmp_path: Path) -> AsyncIterator[tuple[Rig, int]]:
    """The world read, then the never-suspending compute's remediation applied."""
    policies = [p for p in shipped("auto") if p.name == "never-suspending-computes"]
    async with rig(tmp_path, policies=policies, edit_world=two_computes) as r:
        r.client.use_consumption_budget(60_000)  # the simulator has no consumption limit here
        await read_meters(r)
        result = await r.apply()
        (outcome,) = [o for o in result.outcomes if o.state == "succeeded"]
        yield r, outcome.remediation_id


async def read_meters(r: Rig) -> None:
    run = await read_consumption([(Account("default", r.client), ORG_ID)], r.store, now=r.now())
    assert [org.outcome for org in run.orgs] == ["ok"], run.orgs


async def days_pass(r: Rig, days: int) -> None:
    """Step ``days`` days, reading the meters once a day as the daemon's job would."""
    for _ in range(days):
        r.clock.now += DAY.total_seconds()
        await read_meters(r)


async def control(r: Rig, method: str, **kwargs: Any) -> Any:
    """The simulator's ledger control (``/_simulator/usage``), over loopback."""
    async with httpx.AsyncClient(base_url=r.client.base_url) as http:
        response = await http.request(method, "/_simulator/usage", **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def metered_per_day(r: Rig, branch_id: str, start: datetime, end: datetime) -> float:
    """CU-seconds a day the simulator's ledger metered for ``branch_id`` in [start, end)."""
    window = {"from": format_timestamp(start), "to": format_timestamp(end)}
    values = (await control(r, "GET", params={"branch_id": branch_id, **window}))["values"]
    return float(values[COMPUTE_UNIT_SECONDS]) / ((end - start) / DAY)


async def measured(r: Rig, remediation_id: int) -> RealizedRecord:
    await r.store.run(realized.measure_due, now=r.now(), prices=Prices())
    row = await r.store.run(realized.get, remediation_id)
    assert row is not None
    return row


async def test_a_compute_that_now_suspends_realizes_the_drop_the_simulator_metered(
    tmp_path: Path,
) -> None:
    async with applied(tmp_path) as (r, remediation_id):
        kept = await r.store.run(realized.get, remediation_id)
        assert kept is not None
        assert kept.status == "waiting"
        assert kept.baseline is not None  # the week of hourly branch rows read before
        assert kept.estimate_usd is not None  # what the change was judged on, kept beside it
        assert kept.estimate_kind in ("measured", "estimated")
        changed = kept.changed_at
        await days_pass(r, 5)
        early = await measured(r, remediation_id)
        assert early.status == "waiting"
        assert early.realized_monthly_usd is None
        await days_pass(r, 5)
        row = await measured(r, remediation_id)
        assert row.status == "measured", row.note
        assert not row.drifted, row.note
        # The simulator's own ledger over the same hours: the baseline's hours before the
        # change, the after window's days once settled.
        base_end = kept.baseline.end
        base_start = base_end - kept.baseline.days * DAY
        after_start = day_ceil(changed + DAY)
        after_end = after_start + 7 * DAY
        assert (row.window_start, row.window_end) == (after_start, after_end)
        before = await metered_per_day(r, MAIN, base_start, base_end)
        drop = before - await metered_per_day(r, MAIN, after_start, after_end)
        price = (await r.store.run(realized.plan_prices, kept.scope, Prices())).compute_per_cu_hour
        applied_usd = drop / 3600 * price * days_in_month(after_start)
        assert applied_usd > 10  # a real drop: 1 CU at night and on weekends, every week
        assert row.realized_monthly_usd is not None
        assert row.realized_monthly_usd == pytest.approx(applied_usd, rel=0.10)
        assert changed - WORLD_NOW < timedelta(minutes=5)


async def test_a_remediation_measured_while_the_rest_of_the_project_grew_is_flagged_as_drift(
    tmp_path: Path,
) -> None:
    async with applied(tmp_path) as (r, remediation_id):
        # the rest of the project (every branch but main) works three times as hard from now
        changed = await control(
            r, "POST", json={"project_id": PROJECT_ID, "factor": 3, "except_branch_id": MAIN}
        )
        assert ACTIVE in changed["branch_ids"]
        await days_pass(r, 10)
        row = await measured(r, remediation_id)
        assert row.status == "measured", row.note
        assert row.drifted, row.note
        assert row.drift is not None
        assert row.drift > 0.2
        assert "workload drift" in row.note


def cli(tmp_path: Path, *args: str) -> Result:
    """A read-only command on the rig's store (no Neon request is needed)."""
    config = tmp_path / "governor.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "governor.db"}"\n')
    result = CliRunner().invoke(
        app, [*args, "--config", str(config)], env={"NEON_API_KEY": "unused"}
    )
    assert result.exit_code == 0, result.stderr
    return result


async def test_remediations_and_status_show_the_realized_saving_next_to_the_estimate(
    tmp_path: Path,
) -> None:
    async with applied(tmp_path) as (r, remediation_id):
        await days_pass(r, 10)
        row = await measured(r, remediation_id)
    assert row.realized_monthly_usd is not None
    listed = json.loads(cli(tmp_path, "remediations", "--format", "json").stdout)
    (entry,) = [e for e in listed["remediations"] if e["id"] == remediation_id]
    assert entry["realized"]["status"] == "measured"
    assert entry["realized"]["realized_monthly_usd"] == row.realized_monthly_usd
    assert entry["realized"]["estimated_monthly_usd"] == entry["estimate_usd"]
    header, *lines = cli(tmp_path, "remediations").stdout.splitlines()
    assert "realized" in header
    (line,) = [line for line in lines if ALWAYS_ON in line]
    assert f"{row.realized_monthly_usd:,.2f}" in line
    shown = cli(tmp_path, "remediations", "show", str(remediation_id)).stdout
    (realized_line,) = [line for line in shown.splitlines() if line.startswith("realized ")]
    assert realized_line.endswith(f"{row.realized_monthly_usd:,.2f}: {row.note}")
    status = json.loads(cli(tmp_path, "status", "--format", "json").stdout)
    total = status["remediations"]["realized"]
    assert (total["measured"], total["realized_monthly_usd"]) == (1, row.realized_monthly_usd)
    assert total["estimated_monthly_usd"] == round(entry["estimate_usd"], 2)
    table = cli(tmp_path, "status").stdout
    assert f"${row.realized_monthly_usd:,.2f}/month realized" in table


async def test_the_next_runs_json_and_slack_reports_carry_estimated_vs_realized(
    tmp_path: Path,
) -> None:
    async with applied(tmp_path) as (r, remediation_id):
        await days_pass(r, 10)
        result = await r.audit()  # the measurement pass runs at the end of every audit
        row = await r.store.run(realized.get, remediation_id)
    assert row is not None
    assert row.status == "measured"
    assert result.realized is not None
    document = json.loads(render_audit(result, "json"))
    assert document["realized_savings"]["measured"] == 1
    assert document["realized_savings"]["realized_monthly_usd"] == row.realized_monthly_usd
    message = report_message(result, remediations={}, owners={}, exempted={})
    texts = json.dumps(message.blocks)
    assert f"Realized savings (Neon's meters): ${row.realized_monthly_usd:,.2f}/mo" in texts


async def test_the_daemons_daily_job_measures_what_is_due_and_sets_the_realized_metric(
    tmp_path: Path,
) -> None:
    metrics = Metrics()
    async with applied(tmp_path) as (r, remediation_id):
        context = JobContext(
            Runtime(Config(), clock=r.now), [], r.store, [Account("default", r.client)], metrics
        )
        job = next(j for j in consumption_jobs(context.runtime) if j.name == "realized-savings")
        waiting = await job.run(context)
        await days_pass(r, 10)
        done = await job.run(context)
        row = await r.store.run(realized.get, remediation_id)
    assert waiting.detail is not None
    assert waiting.detail.startswith("0 measured")
    assert row is not None
    assert row.status == "measured"
    assert done.outcome == "succeeded"
    assert metrics.sample("neon_governor_realized_monthly_savings_usd") == pytest.approx(
        row.realized_monthly_usd
    )


def large_stale_branches(data: dict[str, Any]) -> None:
    """Stale branches that hold real storage (50 GB each), so deleting them saves dollars."""
    two_computes(data)
    (project,) = [p for p in data["organizations"][0]["projects"] if p["id"] == PROJECT_ID]
    for branch in project["branches"]:
        if branch["id"].startswith("br-stale-"):
            branch["logical_size"] = 50 * 10**9


async def test_deleted_stale_branches_realize_the_projects_storage_drop_counted_once(
    tmp_path: Path,
) -> None:
    """Each deleted branch is measured by the project's drop, which holds all of them: every
    row shows the whole drop, the total counts it once, and none reads as drift."""
    policies = [p for p in shipped("auto") if p.name == "stale-branches"]
    async with rig(tmp_path, policies=policies, edit_world=large_stale_branches) as r:
        r.client.use_consumption_budget(60_000)
        await read_meters(r)
        result = await r.apply()
        deleted = [o.remediation_id for o in result.outcomes if o.state == "succeeded"]
        assert len(deleted) >= 2
        kept = await r.store.run(realized.get, deleted[0])
        assert kept is not None
        assert kept.scope.branch_deleted
        await days_pass(r, 10)
        await r.store.run(realized.measure_due, now=r.now(), prices=Prices())
        rows = [await r.store.run(realized.get, rid) for rid in deleted]
        total = await r.store.run(realized.summary)
        price = (await r.store.run(realized.plan_prices, kept.scope, Prices())).storage_per_gb_month
        assert kept.baseline is not None
        base_end = kept.baseline.end
        base_start = base_end - kept.baseline.days * DAY
        after_start = day_ceil(kept.changed_at + DAY)
        project = {"project_id": PROJECT_ID}
        before = await control(r, "GET", params={**project, **window(base_start, base_end)})
        after = await control(
            r, "GET", params={**project, **window(after_start, after_start + 7 * DAY)}
        )
    # the ledger's child storage is in byte-hours: GB-months a day = byte-hours / 744 / 1e9
    child = "child_branch_bytes_month"
    drop = before["values"][child] / kept.baseline.days - after["values"][child] / 7
    applied_usd = drop / 744 / 1e9 * price * days_in_month(after_start)
    assert applied_usd > 1
    for row in rows:
        assert row is not None
        assert row.status == "measured", row.note
        assert not row.drifted, row.note
        assert row.realized_monthly_usd == pytest.approx(applied_usd, rel=0.10)
    assert total.counted_once == len(deleted) - 1
    assert total.realized_usd == pytest.approx(applied_usd, rel=0.10)


def window(start: datetime, end: datetime) -> dict[str, str]:
    return {"from": format_timestamp(start), "to": format_timestamp(end)}
