"""`neon-governor findings`: read the store, no API calls."""

from __future__ import annotations

import difflib
from enum import StrEnum
from typing import Annotated

import typer

from governor.commands.common import (
    ConfigOption,
    DbOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    counted,
    fail,
    handled,
    output_width,
    stdout_is_terminal,
    write_output,
)
from governor.config import UsageError
from governor.policy import PolicyError
from governor.report import render_findings
from governor.runtime import Runtime
from governor.store import history
from governor.store import resources as resource_rows


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
            rows = store.call(
                history.findings,
                status=None if status == StatusChoice.all else status.value,
                policy=policy,
            )
            if policy is not None and not rows:
                known = {row.policy for row in store.call(history.findings, status=None)}
                check_policy_name(policy, known | loaded_policy_names(runtime))
            names = {
                project.resource_id: project.name or project.resource_id
                for project in store.call(resource_rows.listed, "project", include_gone=True)
            }
    color = output is None and stdout_is_terminal() and output_format == OutputFormat.table
    write_output(
        render_findings(
            rows, output_format.value, color=color, width=output_width(), project_names=names
        ),
        output,
        counted(len(rows), "finding"),
    )


def loaded_policy_names(runtime: Runtime) -> set[str]:
    """The configured (else shipped) policies' names; none when they do not load."""
    try:
        return {loaded.name for loaded in runtime.policies()}
    except PolicyError:
        return set()  # `findings` reads the store; a broken policy file is audit's to report


def check_policy_name(policy: str, known: set[str]) -> None:
    """Refuse a ``--policy`` no finding and no loaded policy has: a typo, not "no findings"."""
    if policy in known:
        return
    close = difflib.get_close_matches(policy, sorted(known), n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    listing = ", ".join(sorted(known)) if known else "none"
    raise UsageError(f"--policy {policy!r} is not a known policy; {hint}known: {listing}")
