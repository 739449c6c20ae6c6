"""`neon-governor costs`: what Neon bills this period, from its own meters, by line item.

Cost so far this billing period and projected to its end, per organization and project,
by line item (compute, root and child storage, instant restore, snapshots, extra
branches, public and private transfer), with the rate card's date and what is excluded.
``--refresh`` (the default) sweeps the estate and reads Neon's consumption API first;
``--no-refresh`` prices what the store already holds. An organization whose meters Neon
refuses (Free, legacy plans) is said so and estimated from object fields, labelled.

Exit codes: 0 priced; 2 usage, config, key or store error; 3 a read was incomplete (a
sweep part or an organization's meters could not be read: the bill's coverage says which).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from governor.commands.audit import AccountOption, ReportFormat, ReportFormatOption
from governor.commands.common import (
    ConfigOption,
    DbOption,
    OutputOption,
    check_output_path,
    fail,
    handled,
    output_width,
    report_incomplete,
    sweep_progress,
    write_output,
)
from governor.config import UsageError
from governor.costs.bill import LINES, OrgBill
from governor.exit_codes import ExitCode
from governor.model.snapshot import Snapshot
from governor.neon.errors import NeonError
from governor.pipeline.consumption import (
    ConsumptionRun,
    OrgFacts,
    bills,
    facts_of_snapshot,
    facts_of_store,
    org_facts,
    read_consumption,
    sizes_of_snapshot,
    targets_of,
)
from governor.pipeline.run import recorded_run
from governor.pipeline.stages import sweep_stage, utc_now
from governor.report.html import costs_page
from governor.report.text import printable
from governor.runtime import Runtime
from governor.store import Store, history
from governor.sweep import Account, SweepProgress

TABLE_WIDTH = 180  # piped: wide enough for full organization and project ids


class CostsBy(StrEnum):
    org = "org"
    project = "project"
    line = "line"


def register(app: typer.Typer) -> None:
    """Attach the command to the application."""
    app.command("costs")(costs)


def costs(
    *,
    org: Annotated[
        list[str] | None,
        typer.Option("--org", help="Organization id to price (repeatable). Default: all."),
    ] = None,
    project: Annotated[
        list[str] | None,
        typer.Option("--project", help="Only this project id (repeatable)."),
    ] = None,
    by: Annotated[
        CostsBy, typer.Option("--by", help="One row per organization, project or line item.")
    ] = CostsBy.project,
    output_format: ReportFormatOption = ReportFormat.table,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh/--no-refresh",
            help="Sweep and read Neon's consumption first (default), or price the store's.",
        ),
    ] = True,
    account: AccountOption = None,
    db: DbOption = None,
    output: OutputOption = None,
    config_path: ConfigOption = None,
) -> None:
    """What Neon bills this billing period, so far and projected, by line item."""
    check_output_path(output)
    with handled():
        runtime = Runtime.load(config_path, clock=utc_now)
        runtime.check_org_ids(org or [], flag="--org")
        runtime.account_settings(account or [])
        now = runtime.clock()
        with sweep_progress() as progress:
            found, incomplete = asyncio.run(
                _priced(
                    runtime, account or [], org or [], db, now, refresh=refresh, progress=progress
                )
            )
    found = _only(found, org or [], project or [])
    write_output(render(found, by, output_format, now), output, "the costs")
    raise typer.Exit(int(ExitCode.INCOMPLETE if incomplete else ExitCode.OK))


def _only(
    found: list[OrgBill], org_ids: Sequence[str], project_ids: Sequence[str]
) -> list[OrgBill]:
    """The bills asked for; an id that matches nothing is a usage error, not an empty bill."""
    known_orgs = {bill.org_id for bill in found}
    for org_id in org_ids:
        if org_id not in known_orgs:
            fail(f"--org {org_id}: no such organization in what the key sees (or the store holds)")
    chosen = [bill for bill in found if not org_ids or bill.org_id in org_ids]
    if not project_ids:
        return chosen
    known = {project.project_id for bill in chosen for project in bill.projects}
    for project_id in project_ids:
        if project_id not in known:
            fail(f"--project {project_id}: no such project in the organizations priced")
    return [
        _with_projects(bill, project_ids)
        for bill in chosen
        if any(project.project_id in project_ids for project in bill.projects)
    ]


def _with_projects(bill: OrgBill, project_ids: Sequence[str]) -> OrgBill:
    kept = tuple(project for project in bill.projects if project.project_id in project_ids)
    return replace(bill, projects=kept)


async def _priced(
    runtime: Runtime,
    account_names: Sequence[str],
    org_ids: Sequence[str],
    db: Path | None,
    now: datetime,
    *,
    refresh: bool,
    progress: Callable[[SweepProgress], None] | None,
) -> tuple[list[OrgBill], bool]:
    prices = runtime.config.prices
    async with await runtime.open_async_store(db) as store:
        if not refresh:
            facts = await store.run(facts_of_store)
            if not facts:
                raise UsageError(
                    "the store holds no sweep to price: run `neon-governor costs` (it refreshes) "
                    "or `neon-governor audit` first"
                )
            return await store.run(bills, facts, prices, now=now), False
        async with runtime.open_accounts(names=account_names, org_ids=org_ids) as accounts:
            snapshot, run = await _refresh(runtime, accounts, store, now, progress)
            facts = facts_of_snapshot(snapshot)
            facts = await _fallback_details(accounts, snapshot, run, facts)
        if not snapshot.complete:
            report_incomplete(snapshot.incomplete)
        for org_read in run.orgs:
            if org_read.outcome == "failed":
                typer.echo(
                    f"neon-governor: the consumption of {org_read.org_id} was not fully read: "
                    f"{printable(org_read.message or '')}",
                    err=True,
                )
        incomplete = not snapshot.complete or any(o.outcome == "failed" for o in run.orgs)
        found = await store.run(bills, facts, prices, now=now, sizes=sizes_of_snapshot(snapshot))
        return found, incomplete


async def _refresh(
    runtime: Runtime,
    accounts: Sequence[Account],
    store: Store,
    now: datetime,
    progress: Callable[[SweepProgress], None] | None,
) -> tuple[Snapshot, ConsumptionRun]:
    """Sweep (kept in the store as a run, so ``--no-refresh`` and the daemon's hourly read
    find the estate), then read each organization's meters into the store."""
    async with recorded_run(store, "costs", lambda: now) as recorded:
        snapshot = await sweep_stage(
            accounts,
            clock=lambda: now,
            concurrency=runtime.config.neon.concurrency,
            progress=progress,
        )
        await store.run(history.record_snapshot, recorded.run_id, snapshot, now)
        await recorded.finish(
            complete=snapshot.complete,
            requests=snapshot.requests,
            errors=[part.as_dict() for part in snapshot.incomplete],
        )
    settings = runtime.config.consumption
    run = await read_consumption(targets_of(accounts, snapshot), store, now=now, keep=settings.keep)
    return snapshot, run


async def _fallback_details(
    accounts: Sequence[Account],
    snapshot: Snapshot,
    run: ConsumptionRun,
    facts: list[OrgFacts],
) -> list[OrgFacts]:
    """Project details (their counters) for organizations whose meters Neon refused: the
    project list carries no ``compute_time_seconds``."""
    refused = {read.org_id for read in run.orgs if read.outcome == "refused"}
    if not refused:
        return facts
    by_name = {account.name: account for account in accounts}
    wanted = [project for project in snapshot.projects if project.org_id in refused]
    details: dict[str, dict[str, Any]] = {}
    for project in wanted:
        account = by_name.get(snapshot.read_by.get(f"project:{project.id}", ""), accounts[0])
        try:
            details[project.id] = (await account.client.get_project(project.id)).raw
        except NeonError:
            continue  # the list item's fields stand in
    if not details:
        return facts
    projects = [details.get(project.id, project.raw) for project in snapshot.projects]
    return org_facts(
        [org.raw for org in snapshot.organizations],
        projects,
        [branch.raw for branch in snapshot.branches],
    )


# ----- output ------------------------------------------------------------------------


def _money(value: float | None) -> str:
    return "refused" if value is None else f"${value:,.2f}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def as_json(found: Sequence[OrgBill], now: datetime) -> dict[str, Any]:
    return {
        "as_of": now.isoformat(),
        "organizations": [
            {
                "org_id": bill.org_id,
                "plan": bill.plan,
                "kind": bill.kind,
                "period_start": bill.period_start.isoformat(),
                "period_end": bill.period_end.isoformat(),
                "data_end": bill.data_end.isoformat(),
                "coverage": bill.coverage,
                "rate_card_dates": list(bill.rate_card_dates),
                "exclusions": list(bill.exclusions),
                "notes": list(bill.notes),
                "so_far_usd": round(bill.so_far_usd, 6),
                "projected_usd": round(bill.projected_usd, 6),
                "projects": [
                    {
                        "project_id": project.project_id,
                        "so_far_usd": round(project.so_far_usd, 6),
                        "projected_usd": round(project.projected_usd, 6),
                        "lines": {
                            line.line: {
                                "quantity": _round(line.quantity),
                                "unit": line.unit,
                                "so_far_usd": _round(line.so_far_usd),
                                "projected_usd": _round(line.projected_usd),
                                "note": line.note,
                            }
                            for line in project.lines
                        },
                    }
                    for project in bill.projects
                ],
            }
            for bill in found
        ],
    }


def rows_of(found: Sequence[OrgBill], by: CostsBy) -> list[dict[str, Any]]:
    """Flat rows for tables, CSV and Markdown."""
    rows: list[dict[str, Any]] = []
    for bill in found:
        if by == CostsBy.org:
            rows.append(
                {
                    "organization": bill.org_id, "plan": bill.plan or "unknown",
                    "kind": bill.kind, "so_far_usd": bill.so_far_usd,
                    "projected_usd": bill.projected_usd, "coverage": bill.coverage,
                }
            )  # fmt: skip
            continue
        for project in bill.projects:
            if by == CostsBy.project:
                rows.append(
                    {
                        "organization": bill.org_id, "project": project.project_id,
                        "kind": bill.kind, "so_far_usd": project.so_far_usd,
                        "projected_usd": project.projected_usd,
                    }
                )  # fmt: skip
                continue
            for line in project.lines:
                rows.append(
                    {
                        "organization": bill.org_id, "project": project.project_id,
                        "line": line.line, "quantity": line.quantity, "unit": line.unit,
                        "so_far_usd": line.so_far_usd, "projected_usd": line.projected_usd,
                        "kind": bill.kind, "note": line.note,
                    }
                )  # fmt: skip
    return rows


def _cell(key: str, value: Any) -> str:
    if key.endswith("_usd"):
        return _money(value)
    if key == "quantity":
        return "-" if value is None else f"{value:,.4g}"
    return printable(str(value))


def _footer(found: Sequence[OrgBill], now: datetime) -> list[str]:
    lines = [f"as of {now:%Y-%m-%d %H:%M} UTC; dollars are estimates of Neon's invoice"]
    for bill in found:
        dates = ", ".join(bill.rate_card_dates)
        lines.append(
            f"{bill.org_id} ({bill.plan or 'unknown plan'}): {bill.kind}, coverage "
            f"{bill.coverage}, period {bill.period_start:%Y-%m-%d} to "
            f"{bill.period_end:%Y-%m-%d}, rate card of {dates}"
        )
        lines.extend(f"  {printable(note)}" for note in bill.notes)
    if found:
        lines.append("excluded: " + ", ".join(found[0].exclusions))
    return lines


def render(found: Sequence[OrgBill], by: CostsBy, output_format: str, now: datetime) -> str:
    """The bill in ``output_format`` (a ReportFormat or OutputFormat value)."""
    if output_format == ReportFormat.json:
        return json.dumps(as_json(found, now), indent=2) + "\n"
    if output_format == ReportFormat.html:  # --by shapes the flat formats; the page has all
        return costs_page(as_json(found, now))
    rows = rows_of(found, by)
    columns = list(rows[0]) if rows else ["organization"]
    if output_format == ReportFormat.csv:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if value is None else value for key, value in row.items()})
        return buffer.getvalue()
    if output_format == ReportFormat.markdown:
        text = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        text += ["| " + " | ".join(_cell(k, row[k]) for k in columns) + " |" for row in rows]
        return "\n".join([*text, "", *(f"- {line}" for line in _footer(found, now))]) + "\n"
    table = Table(title="Neon costs this billing period")
    shown = [key for key in columns if any(row[key] not in (None, "") for row in rows)] or columns
    for column in shown:
        numeric = column.endswith(("_usd", "quantity"))
        # ids are never cut short: a truncated id cannot be pasted into --org or --project
        table.add_column(column, justify="right" if numeric else "left", no_wrap=column != "note")
    for row in rows:
        table.add_row(*(_cell(key, row[key]) for key in shown))
    buffer = io.StringIO()
    width = max(output_width(), TABLE_WIDTH)
    Console(file=buffer, width=width, markup=False, soft_wrap=False).print(table)
    return buffer.getvalue() + "\n".join(_footer(found, now)) + "\n"


__all__ = ["LINES", "CostsBy", "costs", "register", "render"]
