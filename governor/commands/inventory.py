"""`neon-governor inventory`: sweep what the key can see and print it.

Exit codes: 0 the sweep was complete; 2 usage, config, key or auth error; 3 the sweep was
incomplete (what could not be read, and why, goes to stderr).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from governor.commands.common import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_USAGE,
    ConfigOption,
    config_or_exit,
    fail,
    report_incomplete,
    sweep_progress,
)
from governor.config import Config
from governor.inventory import Snapshot
from governor.neon.client import NeonClient
from governor.neon.errors import NeonAuthError, NeonError
from governor.neon.factory import client_from_config
from governor.secrets import SecretError
from governor.sweep import SweepProgress, sweep


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
    output_format: Annotated[
        InventoryFormat,
        typer.Option("--format", help="table (per organization and project) or json."),
    ] = InventoryFormat.table,
    config_path: ConfigOption = None,
) -> None:
    """Sweep the organizations the key can see and print what was found."""
    config = config_or_exit(config_path)
    try:
        client = client_from_config(config)
    except SecretError as error:
        fail(f"no Neon API key: {error}", EXIT_USAGE)
    org_ids = list(org or config.neon.organizations) or None
    raise typer.Exit(run_inventory(client, config, org_ids, output_format))


def run_inventory(
    client: NeonClient,
    config: Config,
    org_ids: Sequence[str] | None,
    output_format: InventoryFormat,
) -> int:
    """Sweep with ``client``, print the result, and return the exit code."""
    try:
        with sweep_progress() as progress:
            snapshot = asyncio.run(_sweep(client, config, org_ids, progress))
    except NeonAuthError as error:
        fail(str(error), EXIT_USAGE)
    except NeonError as error:
        fail(str(error), EXIT_INCOMPLETE)
    if output_format == InventoryFormat.json:
        sys.stdout.write(json.dumps(snapshot.to_json(), indent=2) + "\n")
        sys.stdout.flush()
    else:
        # Piped output gets a wide table rather than truncated ids.
        width = None if sys.stdout.isatty() else 160
        Console(soft_wrap=False, width=width).print(render_table(snapshot))
    if snapshot.complete:
        return EXIT_OK
    report_incomplete(snapshot.incomplete)
    return EXIT_INCOMPLETE


async def _sweep(
    client: NeonClient,
    config: Config,
    org_ids: Sequence[str] | None,
    progress: Callable[[SweepProgress], None] | None,
) -> Snapshot:
    async with client:
        return await sweep(
            client, org_ids=org_ids, concurrency=config.neon.concurrency, progress=progress
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
        label = f"{names[org_id]} ({org_id})" if org_id in names else str(org_id or "-")
        table.add_row(label, "", "", "", str(keys.get(org_id, 0)), style="bold")
        for project in snapshot.projects:
            if project.org_id == org_id:
                table.add_row(
                    "",
                    f"{project.name} ({project.id})",
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
    table.caption = f"{snapshot.requests} API requests"
    return table
