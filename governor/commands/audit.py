"""`neon-governor audit`: one shot sweep → policies → store → report, with exit codes.

Exit codes: 0 no open finding at or above --fail-on; 1 findings; 2 usage, config or policy
error; 3 the sweep was incomplete (what was unreadable, and why, is printed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from governor.commands.common import (
    EXIT_INCOMPLETE,
    ConfigOption,
    DbOption,
    FailOn,
    FormatOption,
    OutputFormat,
    OutputOption,
    config_or_exit,
    db_path,
    fail,
    output_width,
    policies_or_exit,
    report_incomplete,
    stdout_is_terminal,
    sweep_progress,
    write_output,
)
from governor.config import Config
from governor.neon.client import NeonClient
from governor.neon.errors import NeonAuthError, NeonError
from governor.neon.factory import client_from_config
from governor.pipeline.audit import AuditResult, exit_code, run_audit
from governor.policy import Policy
from governor.report import render_audit
from governor.secrets import SecretError
from governor.store import Store
from governor.sweep import SweepProgress


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


def audit(
    config_path: ConfigOption = None,
    policies: Annotated[
        list[Path] | None,
        typer.Option(
            "--policies", help="Policy files or folders (repeatable). Default: the shipped ones."
        ),
    ] = None,
    org: Annotated[
        list[str] | None,
        typer.Option("--org", help="Organization id to cover (repeatable). Default: all visible."),
    ] = None,
    output_format: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    db: DbOption = None,
    fail_on: Annotated[
        FailOn,
        typer.Option("--fail-on", help="Lowest severity of an open finding that makes exit 1."),
    ] = FailOn.low,
) -> None:
    """Sweep the account, evaluate the policies, store and report the findings."""
    config = config_or_exit(config_path)
    loaded = policies_or_exit(policies, config, config_path)
    result = execute_audit(config, loaded, org_ids=org or list(config.neon.organizations), db=db)
    color = output is None and stdout_is_terminal() and output_format == OutputFormat.table
    write_output(
        render_audit(result, output_format.value, color=color, width=output_width()), output
    )
    if not result.complete:
        report_incomplete(result.incomplete, "; findings there were kept as they were")
        raise typer.Exit(EXIT_INCOMPLETE)
    raise typer.Exit(exit_code(result, fail_on.value))


def execute_audit(
    config: Config,
    policies: list[Policy],
    *,
    org_ids: list[str],
    db: Path | None,
    trigger: str = "audit",
) -> AuditResult:
    """Run one audit with the config's client and store; usage errors exit 2."""
    try:
        client = client_from_config(config)
    except SecretError as error:
        fail(f"no Neon API key: {error}")
    try:
        store = Store.open(db_path(db, config))
    except Exception as error:  # sqlite3 errors carry the path and reason
        fail(f"cannot open the store {db_path(db, config)}: {error}")
    try:
        with sweep_progress() as progress:
            return asyncio.run(
                _run(client, store, policies, config, org_ids, progress, trigger=trigger)
            )
    except NeonAuthError as error:
        fail(str(error))
    except NeonError as error:
        fail(str(error), EXIT_INCOMPLETE)
    finally:
        store.close()


async def _run(
    client: NeonClient,
    store: Store,
    policies: list[Policy],
    config: Config,
    org_ids: list[str],
    progress: Callable[[SweepProgress], None] | None,
    *,
    trigger: str,
) -> AuditResult:
    async with client:
        return await run_audit(
            client=client,
            store=store,
            policies=policies,
            prices=config.prices,
            org_ids=org_ids,
            concurrency=config.neon.concurrency,
            trigger=trigger,
            progress=progress,
        )
