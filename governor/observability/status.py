"""What ``neon-governor status`` reports, read from the store alone (no API call).

Why a plain dict: the JSON output is a documented, stable shape that scripts read; the
table is a rendering of the same dict, so the two cannot disagree. Parts the remediation
engine will provide (pause, remediations, approvals) say so until it exists.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from governor.config import Config
from governor.daemon.lock import read_holder
from governor.store import RunRecord, Store

RECENT_RUNS = 10
HOUR = timedelta(hours=1)
RUNS_SCANNED_FOR_HOUR = 1000  # a daemon polling every minute starts 60 runs an hour
JOB_FIELDS = ("job", "scheduled_for", "started_at", "finished_at", "outcome", "run_id", "detail")
NOT_INSTALLED = "not available (remediation not installed)"


def _duration_seconds(run: RunRecord) -> float | None:
    if run.finished_at is None:
        return None
    started, finished = (datetime.fromisoformat(t) for t in (run.started_at, run.finished_at))
    return round((finished - started).total_seconds(), 3)


def run_row(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "complete": run.complete,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_seconds": _duration_seconds(run),
        "requests": run.requests,
        "failure_reason": run.failure_reason,
    }


def daemon_state(store_path: Path) -> dict[str, Any]:
    """Who holds the daemon's lock on this store (governor/daemon/lock.py)."""
    holder = read_holder(store_path)
    if holder is None:
        return {"running": False, "note": "not running (no process holds the daemon lock)"}
    return {
        "running": True,
        "pid": holder.pid,
        "hostname": holder.hostname,
        "since": holder.since.isoformat(),
        "note": f"pid {holder.pid} on {holder.hostname} since {holder.since.isoformat()}",
    }


def job_state(store: Store) -> list[dict[str, Any]]:
    """The latest run of each scheduled job, by job name."""
    return [
        {name: getattr(record, name) for name in JOB_FIELDS} for record in store.last_job_runs()
    ]


def request_use(config: Config, runs: list[RunRecord], now: datetime) -> dict[str, Any]:
    """Requests of the runs started in the last hour, against the accounts' hourly budget."""
    since = now - HOUR
    used = sum(run.requests or 0 for run in runs if datetime.fromisoformat(run.started_at) >= since)
    budget = sum((account.requests_per_minute or 0) * 60 for account in config.effective_accounts())
    return {"last_hour": used, "budget_per_hour": budget, "since": since.isoformat()}


def gather_status(config: Config, store: Store, store_path: Path, now: datetime) -> dict[str, Any]:
    """The documented status dict (README, ``status --format json``)."""
    scanned = store.runs(RUNS_SCANNED_FOR_HOUR)
    findings = store.findings("open")
    by_severity = Counter(finding.severity for finding in findings)
    by_policy = Counter(finding.policy for finding in findings)
    savings = round(sum(finding.estimated_monthly_savings_usd for finding in findings), 2)
    return {
        "store": str(store_path),
        "now": now.isoformat(),
        "daemon": daemon_state(store_path),
        "jobs": job_state(store),
        "runs": [run_row(run) for run in scanned[:RECENT_RUNS]],
        "paused": {"available": False, "paused": None, "note": NOT_INSTALLED},
        "findings": {
            "open": len(findings),
            "by_severity": {key: by_severity[key] for key in ("high", "medium", "low")},
            "by_policy": dict(sorted(by_policy.items())),
            "estimated_monthly_savings_usd": savings,
        },
        "remediations": {"available": False, "recent": [], "note": NOT_INSTALLED},
        "approvals": {"available": False, "pending": None, "note": NOT_INSTALLED},
        "requests": request_use(config, scanned, now),
    }
