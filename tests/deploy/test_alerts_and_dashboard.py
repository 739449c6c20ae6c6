"""The shipped Grafana dashboard and Prometheus alert rules: valid, tested, and naming only
metrics the daemon exports.

Why the name check: a renamed metric silently empties a panel and mutes an alert (OpenCost's
dashboards broke that way). The names are compared with a live ``Metrics`` registry's
exposition after every family was touched once, so ``_total``, ``_bucket``, ``_sum`` and
``_count`` must be written exactly as Prometheus will store them.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from governor.observability.labels import FindingKey, SavingsKey
from governor.observability.metrics import Metrics
from tests.tools import require_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yaml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yaml"
DASHBOARD = DEPLOY / "grafana" / "neon-governor.json"
METRIC = re.compile(r"\bneon_governor_[a-z0-9_]*[a-z0-9]")
# Grafana's variables, as a query reaches Prometheus (for parsing the dashboard's PromQL)
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "1d", "$__interval": "1m"}


class Pacer:
    requests_per_minute = 700

    def minute_used(self) -> int:
        return 3


def touched() -> Metrics:
    """A registry with every family holding at least one sample."""
    metrics = Metrics()
    at = datetime(2026, 12, 7, 6, tzinfo=UTC)
    metrics.observe_request("GET /projects", "200", account="prod")
    metrics.observe_retry("429", account="prod")
    metrics.watch_budgets({"prod": Pacer()})
    metrics.observe_sweep(30.0)
    metrics.start_sweeps(["prod"], last_complete=None, max_age_seconds=7200)
    metrics.sweep_ended("prod", incomplete=0, finished_at=at)
    metrics.set_findings({FindingKey("stale-branches", "medium", "prod", "org-a"): 2})
    metrics.set_savings({SavingsKey("stale-branches", "prod", "org-a"): 12.5})
    metrics.set_realized_savings(3.0)
    metrics.observe_remediation("suspend_endpoint", "failed")
    metrics.set_outbox("slack", pending=1, failed=0, oldest_pending_age_seconds=5)
    metrics.job_succeeded("sweep", at)
    return metrics


def exported() -> set[str]:
    body = touched().render()[0].decode()
    return {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in body.splitlines()
        if line and not line.startswith("#")
    }


def names_in(text: str) -> set[str]:
    return set(METRIC.findall(text))


def unknown(text: str, known: set[str]) -> set[str]:
    return names_in(text) - known


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def dashboard() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return document


def panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in document["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries(document: dict[str, Any]) -> list[str]:
    queries = [target["expr"] for panel in panels(document) for target in panel.get("targets", [])]
    return queries


def variable_queries(document: dict[str, Any]) -> list[str]:
    return [
        variable["definition"]
        for variable in document["templating"]["list"]
        if variable["type"] == "query"
    ]


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_family_is_touched_so_the_exported_names_are_complete() -> None:
    families = list(touched().registry.collect())
    assert families
    assert [family.name for family in families if not family.samples] == []


def test_a_metric_the_daemon_does_not_export_is_reported() -> None:
    known = exported()
    assert unknown("rate(neon_governor_api_requests_total[5m])", known) == set()
    assert unknown("rate(neon_governor_api_requests[5m])", known) == {"neon_governor_api_requests"}
    assert unknown("neon_governor_sweep_duration_seconds", known) == {
        "neon_governor_sweep_duration_seconds"  # a histogram has _bucket, _sum, _count
    }
    assert unknown("neon_governor_made_up_usd > 0", known) == {"neon_governor_made_up_usd"}


def test_the_dashboard_and_the_rules_name_only_metrics_the_daemon_exports() -> None:
    known = exported()
    document = dashboard()
    texts = {
        "dashboard panels": "\n".join(dashboard_queries(document)),
        "dashboard variables": "\n".join(variable_queries(document)),
        "alerts.yaml": "\n".join(rule["expr"] for rule in alert_rules()),
        "alerts.test.yaml": ALERT_TESTS.read_text(),
    }
    for where, text in texts.items():
        assert unknown(text, known) == set(), where
    named = set().union(*(names_in(text) for text in texts.values()))
    assert {
        "neon_governor_api_requests_total",
        "neon_governor_api_retries_total",
        "neon_governor_api_budget_used_requests",
        "neon_governor_api_budget_requests_per_minute",
        "neon_governor_sweep_duration_seconds_count",
        "neon_governor_sweep_duration_seconds_bucket",
        "neon_governor_sweep_last_success_timestamp_seconds",
        "neon_governor_sweep_incomplete",
        "neon_governor_findings",
        "neon_governor_estimated_monthly_savings_usd",
        "neon_governor_realized_monthly_savings_usd",
        "neon_governor_remediations_total",
        "neon_governor_outbox_pending",
        "neon_governor_outbox_oldest_pending_age_seconds",
        "neon_governor_job_last_success_timestamp_seconds",
    } <= names_in(texts["dashboard panels"])
    assert {
        "neon_governor_build_info",
        "neon_governor_sweep_last_success_timestamp_seconds",
        "neon_governor_sweep_max_age_seconds",
        "neon_governor_start_time_seconds",
        "neon_governor_sweep_incomplete",
        "neon_governor_remediations_total",
        "neon_governor_outbox_oldest_pending_age_seconds",
        "neon_governor_api_budget_used_requests",
    } <= names_in(texts["alerts.yaml"])
    assert len(named) >= 15


def test_the_dashboard_takes_its_datasource_account_and_org_as_variables() -> None:
    document = dashboard()
    assert document["schemaVersion"] >= 39
    assert document["uid"] == "neon-governor"
    variables = {variable["name"]: variable for variable in document["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert {"account", "org"} <= set(variables)
    ids = [panel["id"] for panel in panels(document)]
    assert len(ids) == len(set(ids))
    for panel in panels(document):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
    queries = dashboard_queries(document)
    assert any('account=~"$account"' in query for query in queries)
    assert any('org=~"$org"' in query for query in queries)


def test_promtool_accepts_the_rules() -> None:
    promtool = require_tool("promtool")
    checked = run(promtool, "check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in checked.stdout


def test_each_alert_fires_and_stays_quiet_in_promtools_unit_tests() -> None:
    promtool = require_tool("promtool")
    cases = yaml.safe_load(ALERT_TESTS.read_text())["tests"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in cases:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names == fired == quiet
    tested = run(promtool, "test", "rules", ALERT_TESTS.name, cwd=ALERT_TESTS.parent)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    promtool = require_tool("promtool")
    document = dashboard()
    rules = []
    for number, query in enumerate(dashboard_queries(document)):
        expr = query
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        expr = re.sub(r"\$(instance|account|org)\b", ".*", expr)
        assert "$" not in expr, query
        rules.append({"record": f"dashboard:query_{number}", "expr": expr})
    assert len(rules) >= 20
    parsed = tmp_path / "dashboard-queries.yaml"
    parsed.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    checked = run(promtool, "check", "rules", str(parsed))
    assert checked.returncode == 0, checked.stdout + checked.stderr
