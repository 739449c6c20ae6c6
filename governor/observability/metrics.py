"""The daemon's Prometheus metrics, each ``Metrics`` on a registry of its own.

Why not the global registry: tests (and two daemons in one process, as tests run them)
each get clean counters, and nothing another library registers leaks into ``/metrics``.
Names follow Prometheus conventions: ``neon_governor_`` prefix, base units, ``_total``
on counters, and only bounded labels (route templates, never ids).
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from governor import __version__
from governor.observability.server import MetricsServer, parse_listen, start_server
from governor.observability.transport import MetricsTransport

__all__ = ["Metrics", "MetricsServer", "MetricsTransport", "parse_listen", "serve_metrics"]

# A sweep takes seconds for a small account and many minutes for a large, paced one.
SWEEP_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._build = Gauge(
            "neon_governor_build_info", "Always 1.", ["version", "python"], registry=registry
        )
        self._build.labels(__version__, platform.python_version()).set(1)
        self._requests = Counter(
            "neon_governor_api_requests",
            "HTTP attempts to the Neon API, by route template and status ('error': none).",
            ["route", "status"],
            registry=registry,
        )
        self._retries = Counter(
            "neon_governor_api_retries",
            "Attempts that ended in a retryable status (423, 429, 5xx) or transport error.",
            ["reason"],
            registry=registry,
        )
        self._sweep = Histogram(
            "neon_governor_sweep_duration_seconds",
            "How long one sweep of the accounts took.",
            buckets=SWEEP_BUCKETS,
            registry=registry,
        )
        self._findings = Gauge(
            "neon_governor_findings",
            "Open findings after the latest run.",
            ["policy", "severity"],
            registry=registry,
        )
        self._remediations = Counter(
            "neon_governor_remediations",
            "Remediations ended, by the change sent (action) and its end state (result).",
            ["action", "result"],
            registry=registry,
        )
        self._savings = Gauge(
            "neon_governor_estimated_monthly_savings_usd",
            "Estimated monthly savings of the open findings, in USD.",
            registry=registry,
        )
        self._realized = Gauge(
            "neon_governor_realized_monthly_savings_usd",
            "Monthly savings measured from Neon's meters after remediations, in USD.",
            registry=registry,
        )
        self._outbox_pending = Gauge(
            "neon_governor_outbox_pending",
            "Messages to people waiting to be sent, by channel (slack, webhook, email, teams).",
            ["channel"],
            registry=registry,
        )
        self._outbox_failed = Gauge(
            "neon_governor_outbox_failed",
            "Messages to people given up on (refused for good), by channel.",
            ["channel"],
            registry=registry,
        )
        self._outbox_oldest = Gauge(
            "neon_governor_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent, by channel (0: none waiting).",
            ["channel"],
            registry=registry,
        )
        self._job_success = Gauge(
            "neon_governor_job_last_success_timestamp_seconds",
            "Unix time of each job's latest successful run.",
            ["job"],
            registry=registry,
        )

    def observe_request(self, route: str, status: str) -> None:
        self._requests.labels(route, status).inc()

    def observe_retry(self, reason: str) -> None:
        self._retries.labels(reason).inc()

    def observe_sweep(self, duration_seconds: float) -> None:
        if duration_seconds < 0:
            raise ValueError(f"a sweep cannot take {duration_seconds} s")
        self._sweep.observe(duration_seconds)

    def set_findings(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Replace every (policy, severity) count: a pair absent now is gone, not stale."""
        self._findings.clear()
        for (policy, severity), count in counts.items():
            self._findings.labels(policy, severity).set(count)

    def set_savings(self, usd: float) -> None:
        self._savings.set(usd)

    def set_realized_savings(self, usd: float) -> None:
        """The sum over measured remediations (waiting and no-data ones count nothing)."""
        self._realized.set(usd)

    def job_succeeded(self, job: str, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("job_succeeded needs an aware datetime (a naive one has no epoch)")
        self._job_success.labels(job).set(at.timestamp())

    def observe_remediation(self, action: str, result: str) -> None:
        self._remediations.labels(action, result).inc()

    def set_outbox(
        self, channel: str, *, pending: int, failed: int, oldest_pending_age_seconds: float
    ) -> None:
        """One channel's outbox health, as ``status`` and ``/healthz`` also see it."""
        self._outbox_pending.labels(channel).set(pending)
        self._outbox_failed.labels(channel).set(failed)
        self._outbox_oldest.labels(channel).set(max(0.0, oldest_pending_age_seconds))

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def sample(self, name: str, labels: Mapping[str, str] | None = None) -> float | None:
        """One sample's value (for tests and ``status``); None when absent."""
        return self.registry.get_sample_value(name, dict(labels or {}))


def serve_metrics(
    listen: str, metrics: Metrics, health: Callable[[], tuple[bool, str]]
) -> MetricsServer:
    """Serve ``/metrics`` and ``/healthz`` on ``listen`` until ``.close()``.

    ``health()`` runs on the server's thread for each request: keep it cheap and
    thread-safe (read values the event loop set, never the store's connection).
    Raises ValueError for an address that is not ``host:port`` and OSError when the
    port cannot be bound.
    """
    if not listen.strip():
        raise ValueError("metrics listen address is empty: metrics are off, serve nothing")
    return start_server(listen, metrics.render, health)
