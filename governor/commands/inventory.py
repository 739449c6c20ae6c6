"""`neon-governor inventory`: sweep what the key can see and print it.

Exit codes: 0 the sweep was complete; 2 usage, config, key or auth error; 3 the sweep was
incomplete (what could not be read, and why, goes to stderr).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from governor.commands.audit import AccountOption
from governor.commands.common import (
    ConfigOption,
    handled,
    report_incomplete,
    sweep_progress,
)
from governor.exit_codes import ExitCode
from governor.model.snapshot import Snapshot
from governor.pipeline.stages import sweep_stage
from governor.report.text import printable
from governor.runtime import Runtime
from governor.sweep import SweepProgress


class InventoryFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    """Attach the command to the application."""
    app.command("inventory")(inventory)


def inventory(
    *,
    org: Annotated[
        list[str] | None,
        typer.Option(
            "--org", help="Organization id to cover (repeatable). Default: all the key sees."
        ),
    ] = None,
    account: AccountOption = None,
    output_format: Annotated[
        InventoryFormat,
        typer.Option("--format", help="table (per organization and project) or json."),
    ] = InventoryFormat.table,
    config_path: ConfigOption = None,
) -> None:
    """Sweep the organizations the key can see and print what was found."""
    with handled():
        runtime = Runtime.load(config_path)
        runtime.account_settings(account or [])  # an unknown --account fails before the bar
        with sweep_progress() as progress:
            holder: list[Snapshot] = []
            asyncio.run(_sweep(runtime, account or [], org or [], progress, holder))
    snapshot = holder[0]
    if output_format == InventoryFormat.json:
        # Written object by object: at 100,000 branches the document is never whole in memory.
        snapshot.write_json(sys.stdout)
        sys.stdout.flush()
    else:
        # Piped output gets a wide table rather than truncated ids.
        width = None if sys.stdout.isatty() else 160
        Console(soft_wrap=False, width=width, markup=False).print(render_table(snapshot))
    if not snapshot.complete:
        report_incomplete(snapshot.incomplete)
        raise typer.Exit(int(ExitCode.INCOMPLETE))
    raise typer.Exit(int(ExitCode.OK))


async def _sweep(
    runtime: Runtime,
    account_names: Sequence[str],
    org_ids: Sequence[str],
    progress: Callable[[SweepProgress], None] | None,
    holder: list[Snapshot],
) -> None:
    async with runtime.open_accounts(names=account_names, org_ids=org_ids) as accounts:
        holder.append(
            await sweep_stage(
                accounts,
                clock=runtime.clock,
                concurrency=runtime.config.neon.concurrency,
                progress=progress,
            )
        )


def render_table(snapshot: Snapshot) -> Table:
    """Counts per organization and project, with the API keys and totals."""
    branches = Counter(branch.project_id for branch in snapshot.branches)
    endpoints = Counter(endpoint.project_id for endpoint in snapshot.endpoints)
    keys = Counter(record.org_id for record in snapshot.api_keys)
    names = {org.id: org.name for org in snapshot.organizations}
    table = Table(title=f"Neon inventory ({'complete' if snapshot.complete else 'INCOMPLETE'})")
    for column in ("organization", "project", "branches", "computes", "API keys"):
        table.add_column(column, justify="right" if column in ("branches", "computes") else "left")
    org_ids = list(dict.fromkeys([*snapshot.org_ids, *(p.org_id for p in snapshot.projects)]))
    for org_id in org_ids:
        label = printable(f"{names[org_id]} ({org_id})" if org_id in names else str(org_id or "-"))
        table.add_row(label, "", "", "", str(keys.get(org_id, 0)), style="bold")
        for project in snapshot.projects:
            if project.org_id == org_id:
                table.add_row(
                    "",
                    printable(f"{project.name} ({project.id})"),
                    str(branches[project.id]),
                    str(endpoints[project.id]),
                    "",
                )
    if keys.get(None):
        table.add_row("personal API keys", "", "", "", str(keys[None]))
    table.add_section()
    table.add_row(
        f"{len(snapshot.organizations)} organizations",
        f"{len(snapshot.projects)} projects",
        str(len(snapshot.branches)),
        str(len(snapshot.endpoints)),
        str(len(snapshot.api_keys)),
    )
    table.caption = (
        f"{snapshot.requests} API requests (the fewest for this account: "
        f"{snapshot.minimum_requests})"
    )
    return table
