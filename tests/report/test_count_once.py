"""Totals count every dollar once: a stale branch whose compute never suspends is one cost
found by two policies; the report, JSON, Slack and the metric count it once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from governor.daemon.generation import ConfigGeneration
from governor.observability.metrics import Metrics
from governor.pipeline.results import AuditResult
from governor.policy.resources import SnapshotIndex
from governor.report import render_findings
from governor.savings import estimate
from governor.slack.report_message import report_message
from governor.store import Store, StoredFinding, history
from tests.savings.test_estimates import (
    AUTOSUSPEND,
    DELETE_BRANCH,
    GB,
    NOW,
    PRICES,
    branch,
    compute,
    world,
)
from tests.store.factories import finding, snapshot

STALE, NEVER = "stale-branches", "never-suspending-computes"
# stale branch: storage 10 GB x 730/744 x 0.35 = 3.43 + its compute 0.25 x 730 x 0.106 = 19.35
# never-suspending compute (idle 40 days): 0.25 x 730 x 0.106 = 19.35, the same dollar
ONCE, TWICE = 22.78, 42.13


@pytest.fixture
def stored() -> Iterator[tuple[Store, list[StoredFinding]]]:
    long_ago = (NOW - timedelta(days=40)).isoformat()
    swept = world(
        branches=[branch(logical_size=10 * GB)],
        endpoints=[compute(suspend=-1, last_active=long_ago)],
    )
    index = SnapshotIndex(swept)
    delete, suspend = estimate(DELETE_BRANCH, index, PRICES), estimate(AUTOSUSPEND, index, PRICES)
    findings = [
        finding("br-1", policy=STALE, estimate=delete),
        finding(
            "ep-1",
            policy=NEVER,
            resource_type="endpoint",
            estimate=suspend,
            action={"type": "set_autosuspend", "seconds": 300},
        ),
    ]
    with Store.open(":memory:") as store:
        run_id = store.call(history.start_run, "audit", NOW)
        seen = snapshot(taken_at=NOW)
        store.call(history.record_snapshot, run_id, seen, NOW)
        result = store.call(history.record_findings, run_id, findings, seen, [STALE, NEVER], NOW)
        yield store, list(result)


def test_the_json_report_total_counts_a_shared_cost_once(
    stored: tuple[Store, list[StoredFinding]],
) -> None:
    _, findings = stored
    document = json.loads(render_findings(findings, "json"))
    assert sum(row["estimated_monthly_savings_usd"] for row in document["findings"]) == TWICE
    summary = document["summary"]
    assert summary["estimated_monthly_savings_usd"] == ONCE
    assert summary["counted_once"] == {
        "shared_costs": 1,
        "not_counted_again_usd": 19.35,
        "note": "$19.35 appears under 2 findings; counted once.",
    }
    assert summary["by_policy"][NEVER]["estimated_monthly_savings_usd"] == 19.35  # its own
    parts = {row["policy"]: row["estimate_parts"] for row in document["findings"]}
    assert {"cost": "compute_floor:ep-1", "monthly_usd": 19.35} in parts[STALE]
    assert parts[NEVER] == [{"cost": "compute_floor:ep-1", "monthly_usd": 19.35}]


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_the_text_report_total_counts_a_shared_cost_once_and_says_so(
    stored: tuple[Store, list[StoredFinding]], fmt: str
) -> None:
    _, findings = stored
    text = render_findings(findings, fmt, width=200)
    assert "$22.78/month" in text
    assert "$42.13" not in text
    assert "$19.35 appears under 2 findings; counted once." in text


def test_the_slack_report_total_counts_a_shared_cost_once(
    stored: tuple[Store, list[StoredFinding]],
) -> None:
    _, findings = stored
    result = AuditResult(
        run_id=1,
        started_at=NOW,
        finished_at=NOW,
        complete=True,
        requests=1,
        findings=findings,
        resolved=[],
        incomplete=[],
        policies=[STALE, NEVER],
    )
    message = report_message(result, remediations={}, owners={}, exempted={})
    shown = json.dumps(message.blocks) + message.text
    assert "$22.78/mo" in shown
    assert "$42.13" not in shown
    assert "counted once" in shown


@pytest.mark.anyio
async def test_the_savings_metric_counts_a_shared_cost_once(
    stored: tuple[Store, list[StoredFinding]],
) -> None:
    store, _ = stored
    metrics = Metrics()
    generation: Any = object.__new__(ConfigGeneration)
    generation.shared = SimpleNamespace(store=store, metrics=metrics)
    generation.context = SimpleNamespace(accounts=[SimpleNamespace(name="default")])
    generation.org_accounts = {}
    await ConfigGeneration.update_finding_metrics(generation)
    # one series per (policy, account, org); their sum is the total, each cost once
    assert metrics.total("neon_governor_estimated_monthly_savings_usd") == pytest.approx(ONCE)
