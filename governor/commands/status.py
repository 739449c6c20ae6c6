"""`neon-governor status`: the daemon, its jobs, runs, findings and API budget, from the store.

No API call: it must answer while Neon is down or the budget is spent. Exit 0, or 2 (via
``handled()``) when the store is missing or unreadable. The JSON shape is documented in
the README (``status --format json``) and built by governor/diagnose/status.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from governor.commands.common import ConfigOption, DbOption, fail, handled, write_output
from governor.diagnose.status import gather_status
from governor.report.text import printable
from governor.runtime import Runtime


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    config_path: ConfigOption = None,
    db: DbOption = None,
    output_format: Annotated[
        StatusFormat, typer.Option("--format", help="Output format.")
    ] = StatusFormat.table,
) -> None:
    """Show the daemon, the last runs, open findings and API use; reads the store only."""
    with handled():
        runtime = Runtime.load(config_path)
        path = runtime.store_path(db)
        if not path.is_file():
            fail(f"no store at {path}: run an audit or the daemon first")
        with runtime.open_store(db, read_only=True) as store:
            data = gather_status(runtime.config, store, path, datetime.now(UTC))
    if output_format == StatusFormat.json:
        write_output(json.dumps(data, indent=2) + "\n", None)
    else:
        write_output(render_table(data), None)


def _cell(value: Any) -> str:
    return "-" if value is None else printable(str(value))


def render_table(data: dict[str, Any]) -> str:
    lines = [f"store      {_cell(data['store'])}"]
    daemon = data["daemon"]
    lines.append(f"daemon     {'running: ' if daemon['running'] else ''}{daemon['note']}")
    lines.append(f"paused     {data['paused']['note']}")
    findings = data["findings"]
    severities = ", ".join(f"{count} {name}" for name, count in findings["by_severity"].items())
    lines.append(
        f"findings   {findings['open']} open ({severities}); estimated savings "
        f"${findings['estimated_monthly_savings_usd']:,.2f}/month"
        + (f" ({findings['counted_once']})" if findings.get("counted_once") else "")
    )
    lines.append(f"remediate  {data['remediations']['note']}")
    lines.append(f"realized   {data['remediations']['realized']['note']}")
    lines.append(f"approvals  {data['approvals']['note']}")
    lines.append(f"slack      {_cell(data['slack']['note'])}")
    lines.append(f"channels   {_cell(data['outboxes']['note'])}")
    use = data["requests"]
    lines.append(
        f"requests   {use['last_hour']} in the last hour of a budget of "
        f"{use['budget_per_hour']} per hour"
    )
    lines.append("")
    lines.append("jobs (latest run of each)")
    if not data["jobs"]:
        lines.append("  none yet (the daemon records its jobs)")
    for job in data["jobs"]:
        lines.append(
            f"  {_cell(job['job']):<16} {_cell(job['outcome']):<10} run {_cell(job['run_id']):<6}"
            f" started {_cell(job['started_at'])}"
            + (f"  {_cell(job['detail'])}" if job["detail"] else "")
        )
    lines.append("")
    lines.append("last runs")
    lines.append(f"  {'id':>6}  {'trigger':<12} {'status':<10} {'duration':>10} {'requests':>9}")
    if not data["runs"]:
        lines.append("  none yet")
    for run in data["runs"]:
        seconds = run["duration_seconds"]
        duration = "-" if seconds is None else f"{seconds:.1f}s"
        lines.append(
            f"  {run['id']:>6}  {_cell(run['trigger']):<12} {_cell(run['status']):<10} "
            f"{duration:>10} {_cell(run['requests']):>9}"
        )
    return "\n".join(lines) + "\n"
