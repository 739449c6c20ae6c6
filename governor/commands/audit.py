"""`neon-governor audit`: one shot sweep → policies → store → report, with exit codes.

Exit codes (governor.exit_codes): 0 no open finding at or above --fail-on; 1 findings;
2 usage, config, policy, key or store error; 3 the sweep was incomplete (what was
unreadable, and why, is printed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from governor.commands.common import (
    ConfigOption,
    DbOption,
    FailOn,
    OutputOption,
    check_output_path,
    counted,
    handled,
    output_width,
    report_incomplete,
    stdout_is_terminal,
    sweep_progress,
    write_output_with,
)
from governor.exit_codes import ExitCode
from governor.pipeline.audit import AuditResult
from governor.policy import Policy
from governor.report import write_audit
from governor.runtime import Runtime
from governor.secrets import SecretError
from governor.slack.service import SlackService
from governor.store import Store
from governor.sweep import Account, SweepProgress


class ReportFormat(StrEnum):
    """The report formats, and html: one self-contained page (no network at view time)."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"
    html = "html"


ReportFormatOption = Annotated[ReportFormat, typer.Option("--format", help="Output format.")]

AccountOption = Annotated[
    list[str] | None,
    typer.Option("--account", help="Configured account to cover (repeatable). Default: all."),
]


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
    account: AccountOption = None,
    output_format: ReportFormatOption = ReportFormat.table,
    output: OutputOption = None,
    db: DbOption = None,
    fail_on: Annotated[
        FailOn,
        typer.Option("--fail-on", help="Lowest severity of an open finding that makes exit 1."),
    ] = FailOn.low,
    consumption: Annotated[
        bool,
        typer.Option(
            "--consumption/--no-consumption",
            help="Read Neon's consumption meters before pricing (as [consumption] says).",
        ),
    ] = True,
) -> None:
    """Sweep the account, evaluate the policies, store and report the findings."""
    check_output_path(output)
    with handled():
        runtime = Runtime.load(config_path)
        loaded = runtime.policies(policies)
        result = execute_audit(
            runtime,
            loaded,
            accounts=account or [],
            org_ids=org or [],
            db=db,
            trigger="audit",
            consumption=consumption,
        )
    color = output is None and stdout_is_terminal() and output_format == ReportFormat.table
    write_output_with(
        lambda stream: write_audit(
            result, output_format.value, stream, color=color, width=output_width()
        ),
        output,
        counted(len(result.findings), "finding"),
    )
    if not result.complete:
        report_incomplete(result.incomplete, "; findings there were kept as they were")
    raise typer.Exit(int(exit_code(result, fail_on.value)))


def exit_code(result: AuditResult, fail_on: str) -> ExitCode:
    """3 when the sweep was incomplete (even with findings), else 1 or 0 by ``fail_on``."""
    if not result.complete:
        return ExitCode.INCOMPLETE
    return ExitCode.FINDINGS if result.failing(fail_on) else ExitCode.OK


def execute_audit(
    runtime: Runtime,
    policies: list[Policy],
    *,
    accounts: Sequence[str] = (),
    org_ids: Sequence[str] = (),
    db: Path | None = None,
    trigger: str = "audit",
    consumption: bool = True,
) -> AuditResult:
    """One audit with the runtime's accounts and store; raises the domain's errors."""
    runtime.account_settings(accounts)  # an unknown --account fails before the progress bar
    with sweep_progress() as progress:
        holder: list[AuditResult] = []
        # asyncio.run repr()s a returned value on 3.11/3.12 debug paths: return nothing.
        asyncio.run(
            _run(runtime, policies, accounts, org_ids, db, trigger, progress, holder, consumption)
        )
    return holder[0]


async def _run(
    runtime: Runtime,
    policies: list[Policy],
    account_names: Sequence[str],
    org_ids: Sequence[str],
    db: Path | None,
    trigger: str,
    progress: Callable[[SweepProgress], None] | None,
    holder: list[AuditResult],
    consumption: bool = True,
) -> None:
    async with (
        runtime.open_accounts(names=account_names, org_ids=org_ids) as accounts,
        await runtime.open_async_store(db) as store,
    ):
        slack = slack_for_audit(runtime, store, accounts)
        holder.append(
            await runtime.audit(
                accounts,
                store,
                policies,
                trigger=trigger,
                progress=progress,
                notifier=runtime.channels(slack, interactive=True, store=store),
                consumption=consumption,
                # streamed (flat memory) unless Slack's owner lookup needs the snapshot
                keep_snapshot=slack is not None,
            )
        )
        if slack is not None:
            await flush_outbox(slack)
        from governor.channels.outbox import flush_deliveries  # webhook, email, Teams

        await flush_deliveries(runtime.delivery_sender(store))


def slack_for_audit(
    runtime: Runtime, store: Store, accounts: Sequence[Account]
) -> SlackService | None:
    """The report goes through the same outbox as the daemon's, when Slack is set up."""
    try:
        return runtime.slack(store, accounts)
    except SecretError as error:
        typer.echo(f"neon-governor: not posting to Slack: {error}", err=True)
        return None


async def flush_outbox(slack: SlackService, deadline_seconds: float = 30.0) -> None:
    """Send what this run queued; Slack being down loses nothing (the outbox keeps it)."""
    if not await slack.sender().flush(deadline_seconds=deadline_seconds):
        typer.echo(
            "neon-governor: Slack did not take every message in time; they wait in the "
            "store's outbox and go out with the next audit or the daemon",
            err=True,
        )
