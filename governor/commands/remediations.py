"""`remediations`, `approve`, `reject`, `revert`, `pause` and `resume`: people's decisions.

All but ``revert`` only read or write the store (no Neon call); ``pause`` takes effect
before the next mutation of any running ``apply`` or daemon, with no restart or reload.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from governor.commands.common import (
    ConfigOption,
    DbOption,
    fail,
    handled,
    output_width,
    write_output,
)
from governor.commands.remediation import actor
from governor.exit_codes import ExitCode
from governor.remediate import decisions
from governor.remediate.errors import RemediationDisabled
from governor.remediate.execute import Executor, Outcome
from governor.remediate.render import render_outcomes, render_remediations
from governor.runtime import Runtime
from governor.store.remediations import ACTIVE_STATES, TERMINAL_STATES, RemediationRecord

STATES = (*ACTIVE_STATES, *TERMINAL_STATES)


def register(app: typer.Typer) -> None:
    app.command("remediations")(remediations)
    app.command("approve")(approve)
    app.command("reject")(reject)
    app.command("revert")(revert)
    app.command("pause")(pause)
    app.command("resume")(resume)


def remediations(
    config_path: ConfigOption = None,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", help=f"Only these states (repeatable): {', '.join(STATES)}."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """List remediations and where each one stands."""
    unknown = [name for name in state or [] if name not in STATES]
    if unknown:
        fail(f"unknown state {', '.join(unknown)}; states: {', '.join(STATES)}")
    if output_format not in ("table", "json"):
        fail(f"--format must be table or json, not {output_format!r}")
    with handled():
        runtime = Runtime.load(config_path)
        _require_store(runtime, db)
        with runtime.open_store(db) as store:
            records = store.remediations.list(states=state or ())
    write_output(render_remediations(records, output_format, width=output_width()), None)


def approve(
    remediation_id: Annotated[int, typer.Argument(help="The remediation to approve.")],
    config_path: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Approve a remediation awaiting approval; the next apply (or daemon pass) runs it."""
    record = _decide(
        config_path,
        db,
        lambda store, now: decisions.approve(store, remediation_id, actor=actor(), now=now),
    )
    typer.echo(f"#{record.id} approved by {record.decided_by}; the next apply runs it.")


def reject(
    remediation_id: Annotated[int, typer.Argument(help="The remediation to reject.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (goes to the audit log).")
    ] = None,
    config_path: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Reject a remediation awaiting approval (or withdraw an approval not yet acted on)."""
    record = _decide(
        config_path,
        db,
        lambda store, now: decisions.reject(
            store, remediation_id, actor=actor(), reason=reason, now=now
        ),
    )
    typer.echo(f"#{record.id} {record.state}: {record.reason}")


def pause(
    reason: Annotated[str | None, typer.Option("--reason", help="Why (shown by status).")] = None,
    config_path: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Stop every executor before its next mutation, until `resume`."""
    _switch(config_path, db, True, reason)
    typer.echo("Remediation paused: no mutation is sent until `neon-governor resume`.")


def resume(config_path: ConfigOption = None, db: DbOption = None) -> None:
    """Lift a pause."""
    _switch(config_path, db, False, None)
    typer.echo("Remediation resumed.")


def revert(
    remediation_id: Annotated[int, typer.Argument(help="The succeeded remediation to undo.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    config_path: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Restore the settings a remediation changed (compute limits, suspend timeout, expiry)."""
    with handled():
        runtime = Runtime.load(config_path)
        if not runtime.config.remediation.enabled:
            raise RemediationDisabled()
        _require_store(runtime, db)
        with runtime.open_store(db, read_only=True) as store:
            original = store.remediations.get(remediation_id)
        question = f"Restore {original.resource_type} {original.resource_id} to {original.before}?"
        if not yes and not typer.confirm(question, default=False):
            raise typer.Exit(int(ExitCode.OK))
        outcomes: list[Outcome] = []
        asyncio.run(_revert(runtime, db, remediation_id, outcomes))
    write_output(render_outcomes(outcomes), None)
    failed = any(outcome.state != "succeeded" for outcome in outcomes)
    raise typer.Exit(int(ExitCode.INCOMPLETE if failed else ExitCode.OK))


async def _revert(
    runtime: Runtime, db: Path | None, remediation_id: int, outcomes: list[Outcome]
) -> None:
    async with (
        runtime.open_accounts() as accounts,
        await runtime.open_async_store(db) as store,
    ):
        record = await decisions.plan_revert(
            store, remediation_id, actor=actor(), now=runtime.clock()
        )
        executor = Executor(
            store=store,
            clients={account.name: account.client for account in accounts},
            policies={},
            settings=runtime.config.remediation,
            clock=runtime.clock,
            actor=actor(),
        )
        outcomes.extend(await executor.run([record]))


def _require_store(runtime: Runtime, db: Path | None) -> None:
    path = runtime.store_path(db)
    if not path.exists():
        fail(f"no store at {path}: run `neon-governor plan` or `apply` first, or pass --db")


def _decide(config_path: Path | None, db: Path | None, decide: object) -> RemediationRecord:
    holder: list[RemediationRecord] = []
    with handled():
        runtime = Runtime.load(config_path)
        _require_store(runtime, db)

        async def run() -> None:
            async with await runtime.open_async_store(db) as store:
                holder.append(await decide(store, runtime.clock()))  # type: ignore[operator]

        asyncio.run(run())
    return holder[0]


def _switch(config_path: Path | None, db: Path | None, paused: bool, reason: str | None) -> None:
    with handled():
        runtime = Runtime.load(config_path)

        async def run() -> None:
            async with await runtime.open_async_store(db) as store:
                await decisions.set_paused(
                    store, paused, actor=actor(), reason=reason, now=runtime.clock()
                )

        asyncio.run(run())
