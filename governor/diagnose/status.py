"""What ``neon-governor status`` reports, read from the store alone (no API call).

Why a plain dict: the JSON output is a documented, stable shape that scripts read; the
table is a rendering of the same dict, so the two cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from governor.config import Config
from governor.daemon.lock import read_holder
from governor.savings.totals import count_once
from governor.store import RunRecord, Store, deliveries, history, realized, remediations
from governor.store import jobs as job_runs
from governor.store import slack as slack_table

RECENT_RUNS = 10
HOUR = timedelta(hours=1)
RUNS_SCANNED_FOR_HOUR = 1000  # a daemon polling every minute starts 60 runs an hour
JOB_FIELDS = ("job", "scheduled_for", "started_at", "finished_at", "outcome", "run_id", "detail")


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
        {name: getattr(record, name) for name in JOB_FIELDS}
        for record in store.call(job_runs.latest_per_job)
    ]


def request_use(config: Config, runs: list[RunRecord], now: datetime) -> dict[str, Any]:
    """Requests of the runs started in the last hour, against the accounts' hourly budget."""
    since = now - HOUR
    used = sum(run.requests or 0 for run in runs if datetime.fromisoformat(run.started_at) >= since)
    budget = sum((account.requests_per_minute or 0) * 60 for account in config.effective_accounts())
    return {"last_hour": used, "budget_per_hour": budget, "since": since.isoformat()}


def pause_state(store: Store) -> dict[str, Any]:
    switch = store.call(remediations.paused)
    if switch is None:
        return {"available": True, "paused": False, "note": "no (remediation may act)"}
    why = f": {switch.reason}" if switch.reason else ""
    return {
        "available": True,
        "paused": True,
        "reason": switch.reason,
        "set_by": switch.set_by,
        "set_at": switch.set_at,
        "note": f"PAUSED by {switch.set_by} at {switch.set_at[:19]}{why} (resume lifts it)",
    }


def remediation_state(config: Config, store: Store) -> dict[str, Any]:
    records = store.call(remediations.listed)
    counts = Counter(record.state for record in records)
    recent = [
        {
            "id": record.id,
            "state": record.state,
            "resource": f"{record.resource_type} {record.resource_id}",
            "change": record.change.kind,
            "updated_at": record.updated_at,
        }
        for record in records[-RECENT_RUNS:]
    ]
    enabled = config.remediation.enabled
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "none yet"
    return {
        "available": True,
        "enabled": enabled,
        "by_state": dict(sorted(counts.items())),
        "recent": recent,
        "note": f"{'enabled' if enabled else 'off ([remediation] enabled = false)'}; {summary}",
        "realized": realized_state(store),
    }


def realized_state(store: Store) -> dict[str, Any]:
    """Estimated vs realized: what the measured remediations were judged on and saved."""
    summary = store.call(realized.summary)
    note = "none measured yet"
    if summary.kept:
        note = (
            f"{summary.measured} measured: ${summary.estimated_usd:,.2f}/month estimated, "
            f"${summary.realized_usd:,.2f}/month realized ({summary.drifted} with workload "
            f"drift); {summary.waiting} waiting, {summary.no_data} without data"
        )
        if summary.counted_once:
            note += f"; {summary.counted_once} shared a drop with another, counted once"
    return summary.as_json() | {"note": note}


def approval_state(store: Store) -> dict[str, Any]:
    pending = store.call(remediations.listed, states=["awaiting_approval"])
    return {
        "available": True,
        "pending": len(pending),
        "note": f"{len(pending)} awaiting approval"
        + (f" (neon-governor approve {pending[0].id})" if pending else ""),
    }


def slack_state(config: Config, store: Store, now: datetime) -> dict[str, Any]:
    """The Slack outbox: what waits and since when, what Slack refused for good, and its
    last error (the daemon's ``/healthz`` fails once the oldest has waited 15 minutes)."""
    if not config.slack.configured:
        return {"configured": False, "note": "off (no [slack] channel or webhook_url)"}
    messages = store.call(slack_table.outbox)
    health = store.call(slack_table.health)
    counts = Counter(message.state for message in messages)
    troubled = [m for m in messages if m.last_error and m.state in ("pending", "failed")]
    last = max(troubled, key=lambda message: message.id, default=None)
    last_error = None
    age = health.oldest_pending_age_seconds(now) if health.oldest_pending_at else None
    note = f"outbox {counts['pending']} pending, {counts['failed']} failed, {counts['sent']} sent"
    if age is not None:
        note += f"; oldest pending waits {_age(age)}"
    if last is not None:
        last_error = {
            "outbox_id": last.id,
            "state": last.state,
            "error": last.last_error,
            "channel": last.channel,
            "attempts": last.attempts,
        }
        note += f"; last error: {last.last_error} (message {last.id}, {last.state})"
    return {
        "configured": True,
        "outbox": {state: counts[state] for state in ("pending", "sent", "failed", "cancelled")},
        "oldest_pending_at": health.oldest_pending_at,
        "oldest_pending_age_seconds": None if age is None else round(age, 3),
        "last_error": last_error,
        "note": note,
    }


def channel_outbox_state(config: Config, store: Store, now: datetime) -> dict[str, Any]:
    """The webhook, email and Teams outbox per channel: what waits, since when, what was
    given up on (the daemon's ``/healthz`` fails once the oldest has waited 15 minutes)."""
    configured = {
        "webhook": bool(config.webhooks),
        "email": config.email.host is not None,
        "teams": config.teams.webhook_env is not None
        or config.teams.webhook_file is not None
        or any(o.teams_webhook_env or o.teams_webhook_file for o in config.owners.owner),
    }
    health = store.call(deliveries.health)
    channels: dict[str, Any] = {}
    notes = []
    for name, state in health.items():
        if not configured.get(name) and not (state.pending or state.failed):
            continue
        age = state.oldest_pending_age_seconds(now) if state.oldest_pending_at else None
        channels[name] = {
            "pending": state.pending,
            "failed": state.failed,
            "oldest_pending_at": state.oldest_pending_at,
            "oldest_pending_age_seconds": None if age is None else round(age, 3),
        }
        note = f"{name} {state.pending} pending, {state.failed} failed"
        if age is not None:
            note += f" (oldest waits {_age(age)})"
        notes.append(note)
    return {"channels": channels, "note": "; ".join(notes) or "off (no webhook, email or Teams)"}


def _age(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minute:02d}m"
    return f"{minute}m{second:02d}s" if minute else f"{second}s"


def gather_status(config: Config, store: Store, store_path: Path, now: datetime) -> dict[str, Any]:
    """The documented status dict (README, ``status --format json``)."""
    scanned = store.call(history.latest_runs, RUNS_SCANNED_FOR_HOUR)
    findings = store.call(history.findings, "open")
    by_severity = Counter(finding.severity for finding in findings)
    by_policy = Counter(finding.policy for finding in findings)
    totals = count_once(finding.estimate for finding in findings)  # each cost once
    return {
        "store": str(store_path),
        "now": now.isoformat(),
        "daemon": daemon_state(store_path),
        "jobs": job_state(store),
        "runs": [run_row(run) for run in scanned[:RECENT_RUNS]],
        "paused": pause_state(store),
        "findings": {
            "open": len(findings),
            "by_severity": {key: by_severity[key] for key in ("high", "medium", "low")},
            "by_policy": dict(sorted(by_policy.items())),
            "estimated_monthly_savings_usd": totals.monthly_usd,
            "counted_once": totals.note,
        },
        "remediations": remediation_state(config, store),
        "approvals": approval_state(store),
        "slack": slack_state(config, store, now),
        "outboxes": channel_outbox_state(config, store, now),
        "requests": request_use(config, scanned, now),
    }
