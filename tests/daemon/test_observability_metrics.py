"""Metrics: the registry's samples, and MetricsTransport counting real HTTP to the simulator."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from governor.neon.client import NeonClient
from governor.neon.errors import NeonTransportError
from governor.observability.metrics import Metrics, MetricsTransport
from governor.observability.routes import route_template
from governor.simulator import SimulatorOptions, World
from tests.conftest import WORLD_NOW, ServedSimulator

pytestmark = pytest.mark.anyio


async def no_sleep(_seconds: float) -> None:
    return None


def client(base_url: str, metrics: Metrics, key: str = "sim-personal-key") -> NeonClient:
    return NeonClient(
        key,
        base_url=base_url,
        requests_per_minute=100_000,
        requests_per_second_per_route=10_000,
        max_attempts=8,
        transport=MetricsTransport(httpx.AsyncHTTPTransport(), metrics),
        sleep=no_sleep,
    )


def test_families_and_labels() -> None:
    metrics = Metrics()
    metrics.observe_request("GET /projects", "200")
    metrics.observe_request("GET /projects", "200")
    metrics.observe_retry("429")
    metrics.observe_sweep(12.5)
    metrics.set_findings({("stale-branches", "medium"): 3, ("unused-api-keys", "low"): 1})
    metrics.set_findings({("stale-branches", "medium"): 2})  # replaces, never accumulates
    metrics.set_savings(42.5)
    metrics.job_succeeded("sweep", datetime(2026, 11, 27, 12, tzinfo=UTC))
    metrics.observe_remediation("suspend", "applied")

    def value(name: str, **labels: str) -> float | None:
        return metrics.sample(name, labels)

    assert value("neon_governor_api_requests_total", route="GET /projects", status="200") == 2
    assert value("neon_governor_api_retries_total", reason="429") == 1
    assert value("neon_governor_sweep_duration_seconds_count") == 1
    assert value("neon_governor_sweep_duration_seconds_sum") == 12.5
    assert value("neon_governor_findings", policy="stale-branches", severity="medium") == 2
    assert value("neon_governor_findings", policy="unused-api-keys", severity="low") is None
    assert value("neon_governor_estimated_monthly_savings_usd") == 42.5
    assert value("neon_governor_job_last_success_timestamp_seconds", job="sweep") == (
        datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp()
    )
    assert value("neon_governor_remediations_total", action="suspend", result="applied") == 1
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    assert b'neon_governor_api_requests_total{route="GET /projects",status="200"} 2.0' in body


def test_each_metrics_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.observe_retry("503")
    assert second.sample("neon_governor_api_retries_total", {"reason": "503"}) is None


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
            "neon_governor_api_requests_total", {"route": route, "status": status}
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
    assert metrics.sample("neon_governor_api_retries_total", {"reason": "503"}) == failures
    assert (
        metrics.sample(
            "neon_governor_api_requests_total",
            {"route": "GET /users/me/organizations", "status": "200"},
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
    route = {"route": "GET /users/me/organizations", "status": "error"}
    assert metrics.sample("neon_governor_api_requests_total", route) == 2
    assert metrics.sample("neon_governor_api_retries_total", {"reason": "ConnectError"}) == 2
