"""`neon-governor findings`: read the store, no API calls."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from governor.commands.common import (
    ConfigOption,
    DbOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    fail,
    handled,
    output_width,
    stdout_is_terminal,
    write_output,
)
from governor.report import render_findings
from governor.runtime import Runtime


class StatusChoice(StrEnum):
    open = "open"
    resolved = "resolved"
    suppressed = "suppressed"
    all = "all"


def register(app: typer.Typer) -> None:
    app.command("findings")(findings)


def findings(
    config_path: ConfigOption = None,
    status: Annotated[
        StatusChoice, typer.Option("--status", help="Which findings to list.")
    ] = StatusChoice.open,
    policy: Annotated[
        str | None, typer.Option("--policy", help="Only this policy's findings.")
    ] = None,
    output_format: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    db: DbOption = None,
) -> None:
    """List stored findings (from earlier audits)."""
    with handled():
        runtime = Runtime.load(config_path)
        path = runtime.store_path(db)
        if not path.exists():
            fail(f"no store at {path}: run `neon-governor audit` first, or pass --db")
        with runtime.open_store(db) as store:
            rows = store.findings(
                status=None if status == StatusChoice.all else status.value, policy=policy
            )
    color = output is None and stdout_is_terminal() and output_format == OutputFormat.table
    write_output(
        render_findings(rows, output_format.value, color=color, width=output_width()), output
    )
