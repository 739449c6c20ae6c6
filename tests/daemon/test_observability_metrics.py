"""Metrics: the registry's samples, and MetricsTransport counting real HTTP to the simulator."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from governor.daemon.metric_labels import (
    UNKNOWN,
    AccountOf,
    FindingKey,
    SavingsKey,
    finding_counts,
    incomplete_by_account,
    savings_split,
)
from governor.model.findings import CostPart, Estimate
from governor.model.snapshot import IncompletePart
from governor.neon.client import NeonClient
from governor.neon.errors import NeonTransportError
from governor.neon.pacing import Pacer
from governor.observability.metrics import Metrics, MetricsTransport
from governor.observability.routes import route_template
from governor.policy import load_policies, shipped_policies_path
from governor.savings.totals import count_once
from governor.simulator import SimulatorOptions, World
from tests.conftest import WORLD_NOW, ServedSimulator
from tests.simulator.worlds import (
    ORG_TOKEN,
    OTHER_ORG_ID,
    OTHER_ORG_TOKEN,
    TINY_ORG_ID,
    tiny_world_data,
)

pytestmark = pytest.mark.anyio


async def no_sleep(_seconds: float) -> None:
    return None


def client(
    base_url: str, metrics: Metrics, key: str = "sim-personal-key", account: str = "default"
) -> NeonClient:
    return NeonClient(
        key,
        base_url=base_url,
        requests_per_minute=100_000,
        requests_per_second_per_route=10_000,
        max_attempts=8,
        transport=MetricsTransport(httpx.AsyncHTTPTransport(), metrics, account=account),
        sleep=no_sleep,
    )


def test_families_and_labels() -> None:
    metrics = Metrics()
    metrics.observe_request("GET /projects", "200", account="prod")
    metrics.observe_request("GET /projects", "200", account="prod")
    metrics.observe_retry("429", account="prod")
    metrics.observe_sweep(12.5)
    stale = FindingKey("stale-branches", "medium", "prod", "org-a")
    metrics.set_findings({stale: 3, FindingKey("unused-api-keys", "low", "prod", "org-a"): 1})
    metrics.set_findings({stale: 2})  # replaces, never accumulates
    metrics.set_savings({SavingsKey("stale-branches", "prod", "org-a"): 42.5})
    metrics.job_succeeded("sweep", datetime(2026, 11, 27, 12, tzinfo=UTC))
    metrics.observe_remediation("suspend", "applied")

    def value(name: str, **labels: str) -> float | None:
        return metrics.sample(name, labels)

    requests = {"route": "GET /projects", "status": "200", "account": "prod"}
    assert value("neon_governor_api_requests_total", **requests) == 2
    assert value("neon_governor_api_retries_total", reason="429", account="prod") == 1
    assert value("neon_governor_sweep_duration_seconds_count") == 1
    assert value("neon_governor_sweep_duration_seconds_sum") == 12.5
    where = {"account": "prod", "org": "org-a"}
    assert value("neon_governor_findings", policy="stale-branches", severity="medium", **where)
    assert metrics.total("neon_governor_findings") == 2
    assert metrics.total("neon_governor_findings", policy="unused-api-keys") == 0
    assert value("neon_governor_estimated_monthly_savings_usd", policy="stale-branches", **where)
    assert metrics.total("neon_governor_estimated_monthly_savings_usd") == 42.5
    assert value("neon_governor_job_last_success_timestamp_seconds", job="sweep") == (
        datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp()
    )
    assert value("neon_governor_remediations_total", action="suspend", result="applied") == 1
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    assert (
        b'neon_governor_api_requests_total{account="prod",route="GET /projects",status="200"} 2.0'
        in body
    )


def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.observe_retry("503", account="default")
    assert second.sample("neon_governor_api_retries_total", {"reason": "503"}) is None
    assert second.total("neon_governor_api_retries_total") == 0


def test_job_success_needs_an_aware_time_and_keeps_the_instant() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="aware"):
        metrics.job_succeeded("sweep", datetime(2026, 11, 27, 12))
    plus_two = timezone(timedelta(hours=2))
    metrics.job_succeeded("sweep", datetime(2026, 11, 27, 14, tzinfo=plus_two))
    assert (
        metrics.sample("neon_governor_job_last_success_timestamp_seconds", {"job": "sweep"})
        == datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp()
    )


@pytest.mark.parametrize(
    ("method", "path", "template"),
    [
        ("GET", "/api/v2/projects", "GET /projects"),
        ("GET", "/api/v2/projects/wispy-bird-123/branches", "GET /projects/{project_id}/branches"),
        (
            "PATCH",
            "/api/v2/projects/p-1/endpoints/ep-cool-1",
            "PATCH /projects/{project_id}/endpoints/{endpoint_id}",
        ),
        (
            "POST",
            "/api/v2/projects/p-1/endpoints/ep-1/suspend",
            "POST /projects/{project_id}/endpoints/{endpoint_id}/suspend",
        ),
        (
            "DELETE",
            "/api/v2/organizations/org-a-1/api_keys/42",
            "DELETE /organizations/{org_id}/api_keys/{key_id}",
        ),
        ("GET", "/api/v2/users/me/organizations", "GET /users/me/organizations"),
        ("GET", "/api/v2/projects/p-1/branches/count", "GET /projects/{project_id}/branches/count"),
        ("GET", "/api/v2/auth", "GET /auth"),
        (
            "GET",
            "/projects/p-1/operations/6f1c8a2e-1111-2222-3333-444455556666",
            "GET /projects/{project_id}/operations/{operation_id}",
        ),
    ],
)
def test_route_templates_name_ids_by_parameter(method: str, path: str, template: str) -> None:
    assert route_template(method, path) == template


async def test_counts_every_attempt_by_the_simulators_own_route_names(
    served_simulator: Callable[..., ServedSimulator],
) -> None:
    simulator, base_url = served_simulator(
        World.generate(seed=2, orgs=2, projects=3, now=WORLD_NOW)
    )
    metrics = Metrics()
    async with client(base_url, metrics) as neon:
        for org in await neon.list_organizations():
            async for project in neon.iter_projects(org.id):
                await neon.list_endpoints(project.id)
                async for _branch in neon.iter_branches(project.id):
                    pass
    seen = Counter((record.route, str(record.status)) for record in simulator.request_log)
    assert sum(seen.values()) >= 1 + 2 + 3 * 2
    for (route, status), count in seen.items():
        sample = metrics.sample(
            "neon_governor_api_requests_total",
            {"route": route, "status": status, "account": "default"},
        )
        assert sample == count, route


async def test_retryable_statuses_count_as_retries(
    served_simulator: Callable[..., ServedSimulator],
) -> None:
    options = SimulatorOptions(
        requests_per_minute=None, requests_per_second_per_route=None, fail_503=0.4, seed=5
    )
    simulator, base_url = served_simulator(options=options)
    metrics = Metrics()
    async with client(base_url, metrics) as neon:
        for _ in range(10):
            await neon.list_organizations()
    failures = sum(1 for record in simulator.request_log if record.status == 503)
    assert failures > 0  # seeded: the same draws every run
    retried = {"reason": "503", "account": "default"}
    assert metrics.sample("neon_governor_api_retries_total", retried) == failures
    assert (
        metrics.sample(
            "neon_governor_api_requests_total",
            {"route": "GET /users/me/organizations", "status": "200", "account": "default"},
        )
        == 10
    )


async def test_a_refused_connection_counts_as_an_error_and_a_retry() -> None:
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics = Metrics()
    neon = client(f"http://127.0.0.1:{port}/api/v2", metrics)
    neon.max_attempts = 2
    async with neon:
        with pytest.raises(NeonTransportError):
            await neon.list_organizations()
    route = {"route": "GET /users/me/organizations", "status": "error", "account": "default"}
    assert metrics.sample("neon_governor_api_requests_total", route) == 2
    refused = {"reason": "ConnectError", "account": "default"}
    assert metrics.sample("neon_governor_api_retries_total", refused) == 2


@dataclass(frozen=True)
class Found:
    """The parts of a StoredFinding the labels read."""

    policy: str
    org_id: str | None
    estimate: Estimate | None
    severity: str = "medium"


def test_a_cost_two_policies_share_is_in_one_savings_series_so_their_sum_counts_it_once() -> None:
    compute = CostPart("compute_floor:ep-1", 30.0)
    findings = [
        Found("stale-branches", "org-a", Estimate(40.0, "m", parts=(compute, CostPart("s", 10)))),
        Found("never-suspending", "org-a", Estimate(30.0, "m", parts=(compute,))),
        Found("unused-api-keys", "org-b", None),  # a risk: a series at 0
        Found("plan-fit", "org-b", Estimate(5.0, "m")),  # no parts: its own
    ]
    account_of = AccountOf(["prod", "stage"], {"org-a": "prod", "org-b": "stage"})
    split = savings_split(findings, account_of)
    once = count_once(finding.estimate for finding in findings).monthly_usd
    assert sum(split.values()) == pytest.approx(once) == 45.0
    assert split == {
        SavingsKey("never-suspending", "prod", "org-a"): 30.0,  # first in policy order
        SavingsKey("stale-branches", "prod", "org-a"): 10.0,
        SavingsKey("unused-api-keys", "stage", "org-b"): 0.0,
        SavingsKey("plan-fit", "stage", "org-b"): 5.0,
    }
    counts = finding_counts(findings, account_of)
    assert counts[FindingKey("unused-api-keys", "medium", "stage", "org-b")] == 1


def test_an_org_no_sweep_attributed_is_unknown_with_several_accounts_and_the_one_with_one() -> None:
    assert AccountOf(["prod", "stage"])("org-z") == UNKNOWN
    assert AccountOf(["prod"])("org-z") == "prod"
    assert AccountOf(["prod"])(None) == "prod"
    assert AccountOf([])("org-z") == UNKNOWN


def test_an_incomplete_part_no_account_can_be_named_for_counts_against_every_account() -> None:
    account_of = AccountOf(["prod", "stage"], {"org-a": "prod"})
    parts = [
        IncompletePart("branches", "429", org_id="org-a", project_id="p-1"),
        IncompletePart("organizations", "503"),  # the organization list itself
        IncompletePart("projects", "503", org_id="org-new"),  # not attributed yet
    ]
    assert incomplete_by_account(parts, ["prod", "stage"], account_of) == {"prod": 3, "stage": 2}
    assert incomplete_by_account([], ["prod"], account_of) == {"prod": 0}


class Ticking:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_budget_gauge_reads_the_pacers_minute_window_at_scrape_time() -> None:
    clock = Ticking()
    pacer = Pacer(120, 40, clock=clock, sleep=no_sleep)
    metrics = Metrics()
    metrics.watch_budgets({"prod": pacer})
    permits = [await pacer.acquire("GET /projects") for _ in range(5)]
    for permit in permits[:3]:
        pacer.done(permit)
    used = {"account": "prod"}
    assert metrics.sample("neon_governor_api_budget_used_requests", used) == 5  # 2 in flight
    assert metrics.sample("neon_governor_api_budget_requests_per_minute", used) == 120
    for permit in permits[3:]:
        pacer.done(permit)
    clock.now += 61.0  # the window has passed: nothing used, though no request came
    assert metrics.sample("neon_governor_api_budget_used_requests", used) == 0
    metrics.watch_budgets({"stage": Pacer(60, 40, clock=clock, sleep=no_sleep)})  # a reload
    assert metrics.sample("neon_governor_api_budget_used_requests", used) is None


def test_sweep_gauges_start_from_the_stores_last_complete_sweep_and_move_when_complete() -> None:
    metrics = Metrics()
    before = datetime(2026, 11, 27, 6, tzinfo=UTC)
    metrics.start_sweeps(["prod", "stage"], last_complete=before, max_age_seconds=7200)

    def last(account: str) -> float | None:
        return metrics.sample(
            "neon_governor_sweep_last_success_timestamp_seconds", {"account": account}
        )

    assert last("prod") == last("stage") == before.timestamp()
    assert metrics.sample("neon_governor_sweep_max_age_seconds") == 7200
    later = before + timedelta(hours=1)
    metrics.sweep_ended("prod", incomplete=0, finished_at=later)
    metrics.sweep_ended("stage", incomplete=2, finished_at=later)
    assert last("prod") == later.timestamp()
    assert last("stage") == before.timestamp()  # an incomplete sweep is no success
    assert metrics.sample("neon_governor_sweep_incomplete", {"account": "stage"}) == 2
    metrics.start_sweeps(["prod"], last_complete=None, max_age_seconds=7200)  # a reload
    assert last("prod") == later.timestamp()  # kept, not re-seeded
    assert last("stage") is None
    fresh = Metrics()
    fresh.start_sweeps(["prod"], last_complete=None, max_age_seconds=60)
    never = fresh.sample("neon_governor_sweep_last_success_timestamp_seconds", {"account": "prod"})
    assert never == 0.0


async def test_a_two_account_daemon_sweep_labels_requests_findings_savings_and_sweeps(
    served_simulator: Callable[..., ServedSimulator],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from governor.daemon.generation import ConfigGeneration, Shared
    from governor.daemon.health import Health
    from governor.daemon.sweeps import SnapshotKeeper
    from governor.runtime import Runtime
    from governor.store import Store, history

    _, base_url = served_simulator(World.from_dict(tiny_world_data()))
    monkeypatch.setenv("FIRST_KEY", ORG_TOKEN)
    monkeypatch.setenv("SECOND_KEY", OTHER_ORG_TOKEN)
    config = tmp_path / "config.toml"
    config.write_text(
        f'[neon]\napi_url = "{base_url}"\nbudget_share = 0.5\n'
        f'[store]\npath = "{tmp_path / "g.db"}"\n'
        '[[accounts]]\nname = "first"\napi_key_env = "FIRST_KEY"\nrequests_per_minute = 600\n'
        '[[accounts]]\nname = "second"\napi_key_env = "SECOND_KEY"\n'
    )
    runtime = Runtime.load(config, clock=lambda: WORLD_NOW)
    policies = load_policies([shipped_policies_path()])
    metrics = Metrics()
    async with await Store.open_async(tmp_path / "g.db") as store:
        health = Health(
            max_sweep_age=timedelta(hours=2),
            started_at=WORLD_NOW,
            clock=lambda: WORLD_NOW,
            scheduler_running=lambda: True,
        )
        keeper = SnapshotKeeper(timedelta(minutes=10))
        shared = Shared(store, metrics, health, keeper, lambda: WORLD_NOW, lambda task: None)
        generation = await ConfigGeneration.open(runtime, policies, shared)
        try:
            result = await generation.run_batch(tuple(policy.name for policy in policies))
        finally:
            await generation.close()
        open_findings = await store.run(history.findings, "open")
    assert result.complete
    assert open_findings

    for account in ("first", "second"):
        assert metrics.total("neon_governor_api_requests_total", account=account) > 0
        assert metrics.sample("neon_governor_sweep_incomplete", {"account": account}) == 0
        assert metrics.sample(
            "neon_governor_sweep_last_success_timestamp_seconds", {"account": account}
        ) == (result.finished_at.timestamp())
    limit = "neon_governor_api_budget_requests_per_minute"
    assert metrics.sample(limit, {"account": "first"}) == 300  # budget_share applied
    assert metrics.sample(limit, {"account": "second"}) == 350
    assert metrics.total("neon_governor_findings") == len(open_findings)
    for finding in open_findings:
        owner = {TINY_ORG_ID: "first", OTHER_ORG_ID: "second"}[finding.org_id or ""]
        labels = {"policy": finding.policy, "account": owner, "org": finding.org_id or ""}
        assert metrics.total("neon_governor_findings", **labels) >= 1
    assert metrics.total("neon_governor_findings", account=UNKNOWN) == 0
    once = count_once(finding.estimate for finding in open_findings).monthly_usd
    assert metrics.total("neon_governor_estimated_monthly_savings_usd") == pytest.approx(once)
