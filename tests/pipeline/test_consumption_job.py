"""The consumption read job: each organization's meters into the store before pricing,
refusals recorded as such, and findings priced from measurements where they exist."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from governor.cli import app
from governor.config import Config
from governor.daemon.jobs import ConsumptionJob, JobContext
from governor.model.consumption import Bucket
from governor.observability.metrics import Metrics
from governor.pipeline.consumption import OrgFacts, bills, read_consumption
from governor.pipeline.stages import sweep_stage
from governor.runtime import Runtime
from governor.simulator import SimulatorOptions, World
from governor.store import Store, history
from governor.store import consumption as meters
from governor.sweep import Account
from tests.conftest import WORLD_NOW
from tests.neon.helpers import fast_client

runner = CliRunner()
NO_LIMITS = SimulatorOptions(requests_per_minute=None, requests_per_second_per_route=None)


def _world() -> World:
    return World.generate(seed=5, orgs=4, projects=16, branches=120, now=WORLD_NOW)


@pytest.mark.anyio
async def test_a_refused_organization_is_recorded_refused_and_the_others_read(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(_world(), NO_LIMITS)
    plans = {org["plan"]: org_id for org_id, org in simulator.world.organizations_by_id.items()}
    async with (
        fast_client(base_url, "sim-personal-key") as client,
        await Store.open_async(tmp_path / "g.db") as store,
    ):
        client.use_consumption_budget(60_000)
        account = Account("default", client)
        run = await read_consumption(
            [(account, plans["free"]), (account, plans["scale"])], store, now=WORLD_NOW
        )
        free_reads = await store.run(meters.reads, org_id=plans["free"])
        scale_reads = await store.run(meters.reads, org_id=plans["scale"])
    assert [org.outcome for org in run.orgs] == ["refused", "ok"]
    assert [(read.outcome, read.rows) for read in free_reads] == [("refused", 0)]
    assert {(read.scope, read.granularity, read.outcome) for read in scale_reads} == {
        ("projects", "hourly", "ok"),
        ("projects", "daily", "ok"),
        ("branches", "hourly", "ok"),
    }
    assert run.requests >= 3


class _AtWorldNow(datetime):
    """The audit's clock (``stages.utc_now``) stopped at the simulated world's now."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _AtWorldNow:
        return cls.fromtimestamp(WORLD_NOW.timestamp(), tz)


def _audit(base_url: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    config = tmp_path / "fast.toml"
    config.write_text(
        "[neon]\nrequests_per_minute = 60000\nrequests_per_second_per_route = 1000\n"
        "[consumption]\nrequests_per_minute = 60000\n"
    )
    with mock.patch("governor.pipeline.stages.datetime", _AtWorldNow):
        result = runner.invoke(
            app,
            ["audit", "--db", str(tmp_path / "g.db"), "--config", str(config),
             "--format", "json", *args],
            env={"NEON_API_URL": base_url, "NEON_API_KEY": "sim-personal-key"},
        )  # fmt: skip
    assert result.exit_code in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _reads(db: Path) -> int:
    connection = sqlite3.connect(db)
    try:
        return int(connection.execute("SELECT COUNT(*) FROM consumption_reads").fetchone()[0])
    finally:
        connection.close()


def test_an_audit_reads_the_meters_before_pricing_so_findings_can_be_measured(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(_world(), NO_LIMITS)
    report = _audit(base_url, tmp_path)
    assert _reads(tmp_path / "g.db") > 0
    kinds = {finding["estimate_kind"] for finding in report["findings"]}
    assert "measured" in kinds


def test_an_audit_with_no_consumption_reads_no_meters(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    _, base_url = served_simulator(_world(), NO_LIMITS)
    report = _audit(base_url, tmp_path, "--no-consumption")
    assert _reads(tmp_path / "g.db") == 0
    assert "measured" not in {finding["estimate_kind"] for finding in report["findings"]}


@pytest.mark.anyio
async def test_the_hourly_daemon_job_reads_the_organizations_the_last_sweep_kept(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    simulator, base_url = served_simulator(_world(), NO_LIMITS)
    runtime = Runtime(Config(), clock=lambda: WORLD_NOW)
    async with (
        fast_client(base_url, "sim-personal-key") as client,
        await Store.open_async(tmp_path / "g.db") as store,
    ):
        client.use_consumption_budget(60_000)
        accounts = [Account("default", client)]
        context = JobContext(runtime, [], store, accounts, Metrics())
        nothing_yet = await ConsumptionJob().run(context)
        snapshot = await sweep_stage(accounts, clock=lambda: WORLD_NOW)
        run_id = await store.run(history.start_run, "audit", WORLD_NOW)
        await store.run(history.record_snapshot, run_id, snapshot, WORLD_NOW)
        result = await ConsumptionJob().run(context)
        reads = await store.run(meters.reads)
    assert nothing_yet.detail == "no organization swept yet"
    assert result.outcome == "succeeded"
    assert result.detail is not None
    assert result.detail.startswith("4 organizations, 1 refused by their plan, 0 failed")
    assert {read.org_id for read in reads} == set(simulator.world.organizations_by_id)


@pytest.mark.anyio
async def test_an_hourly_read_neon_refuses_as_too_old_starts_an_hour_later(
    served_simulator: Callable[..., Any], tmp_path: Path
) -> None:
    """Our clock 10 minutes behind Neon's across the hour: 168 h back from our hour is one
    hour beyond Neon's lookback (406); the read still happens, from an hour later."""
    simulator, base_url = served_simulator(_world(), NO_LIMITS)
    scale = next(
        o for o, org in simulator.world.organizations_by_id.items() if org["plan"] == "scale"
    )
    behind = WORLD_NOW - timedelta(minutes=10)
    async with (
        fast_client(base_url, "sim-personal-key") as client,
        await Store.open_async(tmp_path / "g.db") as store,
    ):
        client.use_consumption_budget(60_000)
        run = await read_consumption([(Account("default", client), scale)], store, now=behind)
        reads = await store.run(meters.reads, org_id=scale, granularity="hourly")
    assert [org.outcome for org in run.orgs] == ["ok"]
    assert {(read.scope, read.outcome) for read in reads} == {
        ("projects", "ok"),
        ("branches", "ok"),
    }
    assert {read.start for read in reads} == {WORLD_NOW - timedelta(hours=168)}


def test_a_period_plan_the_rate_card_does_not_know_is_priced_at_the_orgs_plan(
    tmp_path: Path,
) -> None:
    start = datetime(2026, 11, 27, 10, tzinfo=UTC)
    row = Bucket(
        "org-1", "pr-1", None, "hourly", start, start + timedelta(hours=1), "p-1",
        "scale_v9", "compute_unit_seconds", 3600.0,
    )  # fmt: skip
    facts = [OrgFacts("org-1", None, "scale", "test", {"pr-1": None}, ())]
    with Store.open(tmp_path / "g.db") as store:
        store.call(meters.write_buckets, [row], WORLD_NOW)
        for granularity in ("hourly", "daily"):
            store.call(
                meters.record_read, org_id="org-1", scope="projects", granularity=granularity,
                start=datetime(2026, 11, 1, tzinfo=UTC), end=WORLD_NOW, read_at=WORLD_NOW,
                outcome="ok",
            )  # fmt: skip
        [bill] = store.call(bills, facts, Config().prices, now=WORLD_NOW)
    assert bill.projects[0].line("compute").so_far_usd == pytest.approx(0.222)
