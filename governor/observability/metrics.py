"""The daemon's Prometheus metrics, each ``Metrics`` on a registry of its own.

Why not the global registry: tests (and two daemons in one process, as tests run them)
each get clean counters, and nothing another library registers leaks into ``/metrics``.
Names follow Prometheus conventions: ``neon_governor_`` prefix, base units, ``_total``
on counters, and only bounded labels (route templates, never ids).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from governor import __version__
from governor.observability.labels import FindingKey, SavingsKey
from governor.observability.server import MetricsServer, parse_listen, start_server
from governor.observability.transport import MetricsTransport

__all__ = ["Metrics", "MetricsServer", "MetricsTransport", "parse_listen", "serve_metrics"]

# A sweep takes seconds for a small account and many minutes for a large, paced one.
SWEEP_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)


class BudgetSource(Protocol):
    """What a budget gauge reads at scrape time (``governor.neon.pacing.Pacer``)."""

    requests_per_minute: int

    def minute_used(self) -> int: ...


class Metrics:
    """Every family the daemon exports; the names are a contract with
    ``deploy/grafana`` and ``deploy/prometheus`` (a test checks both against ``render()``).

    Labels: ``account`` is a configured account's name; ``org`` a Neon organization id
    (``unknown`` when the daemon cannot tell). Both are few; project and resource ids are
    never labels (they are in the store and the reports).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._build = Gauge(
            "neon_governor_build_info", "Always 1.", ["version", "python"], registry=registry
        )
        self._build.labels(__version__, platform.python_version()).set(1)
        self._started = Gauge(
            "neon_governor_start_time_seconds",
            "Unix time the daemon started (the sweep-stale alert's grace before a first sweep).",
            registry=registry,
        )
        self._started.set(time.time())
        self._requests = Counter(
            "neon_governor_api_requests",
            "HTTP attempts to the Neon API, by route template, status ('error': none) and account.",
            ["route", "status", "account"],
            registry=registry,
        )
        self._retries = Counter(
            "neon_governor_api_retries",
            "Attempts that ended in a retryable status (423, 429, 5xx) or transport error.",
            ["reason", "account"],
            registry=registry,
        )
        self._budget_used = Gauge(
            "neon_governor_api_budget_used_requests",
            "Requests the account's pacer counts in its sliding minute window, at scrape time.",
            ["account"],
            registry=registry,
        )
        self._budget_limit = Gauge(
            "neon_governor_api_budget_requests_per_minute",
            "The account's requests per minute the pacer keeps under ([neon] budget_share "
            "applied).",
            ["account"],
            registry=registry,
        )
        self._sweep = Histogram(
            "neon_governor_sweep_duration_seconds",
            "How long one sweep took (all accounts are read together, so one series).",
            buckets=SWEEP_BUCKETS,
            registry=registry,
        )
        self._sweep_success = Gauge(
            "neon_governor_sweep_last_success_timestamp_seconds",
            "Unix time of the account's latest complete sweep (0: none yet; at start, the "
            "store's latest complete run).",
            ["account"],
            registry=registry,
        )
        self._sweep_incomplete = Gauge(
            "neon_governor_sweep_incomplete",
            "Parts the account's latest sweep could not read (0: complete).",
            ["account"],
            registry=registry,
        )
        self._sweep_max_age = Gauge(
            "neon_governor_sweep_max_age_seconds",
            "[daemon] max_sweep_age: older complete sweeps make /healthz and the alert fail.",
            registry=registry,
        )
        self._findings = Gauge(
            "neon_governor_findings",
            "Open findings after the latest run, by policy, severity, account and org.",
            ["policy", "severity", "account", "org"],
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
            "Estimated monthly savings of the open findings, in USD, by policy, account and "
            "org. Each cost counts once: a cost several findings would save goes to one "
            "(policy, org), so sum() over any labels is the total.",
            ["policy", "account", "org"],
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

    def observe_request(self, route: str, status: str, *, account: str) -> None:
        self._requests.labels(route, status, account).inc()

    def observe_retry(self, reason: str, *, account: str) -> None:
        self._retries.labels(reason, account).inc()

    def watch_budgets(self, sources: Mapping[str, BudgetSource]) -> None:
        """Read each account's pacer at scrape time (replacing a previous config's)."""
        self._budget_used.clear()
        self._budget_limit.clear()
        for account, source in sources.items():
            self._budget_used.labels(account).set_function(source.minute_used)
            self._budget_limit.labels(account).set(source.requests_per_minute)

    def observe_sweep(self, duration_seconds: float) -> None:
        if duration_seconds < 0:
            raise ValueError(f"a sweep cannot take {duration_seconds} s")
        self._sweep.observe(duration_seconds)

    def start_sweeps(
        self, accounts: Sequence[str], *, last_complete: datetime | None, max_age_seconds: float
    ) -> None:
        """The configured accounts' sweep gauges, before their first sweep in this process.

        Why seed the time from the store: after a restart, "stale" is measured from the
        last complete sweep any process made, as ``/healthz`` measures it.
        """
        self._sweep_max_age.set(max_age_seconds)
        known = {labels[0] for labels in _children(self._sweep_success)}
        for gone in known - set(accounts):
            self._sweep_success.remove(gone)
            if gone in {labels[0] for labels in _children(self._sweep_incomplete)}:
                self._sweep_incomplete.remove(gone)
        for account in accounts:
            if account not in known:
                seeded = last_complete.timestamp() if last_complete is not None else 0.0
                self._sweep_success.labels(account).set(seeded)

    def sweep_ended(self, account: str, *, incomplete: int, finished_at: datetime) -> None:
        """One account's part of a sweep that read Neon: complete when ``incomplete`` is 0."""
        _aware(finished_at, "sweep_ended")
        self._sweep_incomplete.labels(account).set(incomplete)
        if incomplete == 0:
            self._sweep_success.labels(account).set(finished_at.timestamp())

    def set_findings(self, counts: Mapping[FindingKey, int]) -> None:
        """Replace every (policy, severity, account, org) count: absent now means gone."""
        self._findings.clear()
        for key, count in counts.items():
            self._findings.labels(key.policy, key.severity, key.account, key.org).set(count)

    def set_savings(self, usd: Mapping[SavingsKey, float]) -> None:
        """Replace every (policy, account, org) amount (``labels.savings_split``: summed
        over any labels, each cost counts once)."""
        self._savings.clear()
        for key, amount in usd.items():
            self._savings.labels(key.policy, key.account, key.org).set(amount)

    def set_realized_savings(self, usd: float) -> None:
        """The sum over measured remediations (waiting and no-data ones count nothing)."""
        self._realized.set(usd)

    def job_succeeded(self, job: str, at: datetime) -> None:
        _aware(at, "job_succeeded")
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

    def total(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples whose labels include ``labels`` (as ``sum()``)."""
        return sum(
            sample.value
            for family in self.registry.collect()
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )


def _aware(at: datetime, where: str) -> None:
    if at.tzinfo is None:
        raise ValueError(f"{where} needs an aware datetime (a naive one has no epoch)")


def _children(gauge: Gauge) -> list[tuple[str, ...]]:
    """The label values a labelled gauge has series for."""
    return [
        tuple(sample.labels.values()) for family in gauge.collect() for sample in family.samples
    ]


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
