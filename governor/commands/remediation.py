"""`neon-governor plan` and `apply`: what would be done, and doing exactly that.

``plan`` sweeps, records the run and prints, one row per resource, what ``apply`` would
send now and why not for the rest; ``--out`` saves it with a content hash and an expiry.
``apply`` refuses unless ``[remediation] enabled = true``; it finishes what an earlier
killed run left, then executes the current plan or exactly the saved one. Exit codes: 0
done; 2 refused (not enabled, bad plan file, no --yes when piped); 3 the sweep was
incomplete or a remediation failed.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from governor.commands.common import (
    ConfigOption,
    DbOption,
    fail,
    handled,
    output_width,
    report_incomplete,
    stdout_is_terminal,
    write_output,
)
from governor.exit_codes import ExitCode
from governor.pipeline.audit import run_audit
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.errors import RemediationDisabled
from governor.remediate.execute import Executor, Outcome
from governor.remediate.plan import Plan
from governor.remediate.planfile import plan_document, read_plan, write_plan
from governor.remediate.render import plan_summary, render_outcomes, render_plan_table
from governor.remediate.session import (
    AccountScope,
    PassResult,
    apply_plan,
    plan_for,
    reconcile_unfinished,
)
from governor.runtime import Runtime
from governor.store.async_store import AsyncStore
from governor.sweep import Account

PolicyNameOption = Annotated[
    list[str] | None,
    typer.Option("--policy", help="Only this policy (repeatable). Default: every loaded one."),
]
PoliciesOption = Annotated[
    list[Path] | None,
    typer.Option("--policies", help="Policy files or folders (repeatable). Default: shipped."),
]
AccountOption = Annotated[
    list[str] | None,
    typer.Option("--account", help="Configured account to cover (repeatable). Default: all."),
]


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)
    app.command("apply")(apply)


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def plan(
    config_path: ConfigOption = None,
    policies: PoliciesOption = None,
    policy: PolicyNameOption = None,
    account: AccountOption = None,
    output_format: Annotated[
        str, typer.Option("--format", help="table or json (json is the saved-plan document).")
    ] = "table",
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the plan (hash and expiry) for apply --plan.")
    ] = None,
    max_actions: Annotated[
        int | None, typer.Option("--max", min=0, help="Cap the actions of this run.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Print exactly what apply would do now, one row per resource, and why not for the rest."""
    if output_format not in ("table", "json"):
        fail(f"--format must be table or json, not {output_format!r}")
    with handled():
        runtime = Runtime.load(config_path)
        chosen = _chosen(runtime.policies(policies), policy)
        state = _State()
        asyncio.run(_plan(runtime, chosen, account or [], db, max_actions, state))
        result, planned = state.audit, state.plan
        assert result is not None
        assert planned is not None
        settings = runtime.config.remediation
        if out is not None:
            digest = write_plan(planned, out, ttl=settings.plan_ttl)
            expires = (planned.created_at + settings.plan_ttl).isoformat(timespec="seconds")
            typer.echo(
                f"Plan saved to {out} (sha256 {digest[:16]}, expires {expires}); "
                f"apply it with: neon-governor apply --plan {out}",
                err=True,
            )
    if output_format == "json":
        document = plan_document(planned, ttl=runtime.config.remediation.plan_ttl)
        write_output(json.dumps(document, indent=2, ensure_ascii=False) + "\n", None)
    else:
        write_output(render_plan_table(planned, width=output_width()), None)
    if not result.complete:
        report_incomplete(result.incomplete, "; nothing there is planned")
        raise typer.Exit(int(ExitCode.INCOMPLETE))


def apply(
    config_path: ConfigOption = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Apply exactly this saved plan (plan --out).")
    ] = None,
    policies: PoliciesOption = None,
    policy: PolicyNameOption = None,
    account: AccountOption = None,
    max_actions: Annotated[
        int | None,
        typer.Option("--max", min=0, help="At most this many actions (overrides the config)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask (required when piped).")] = False,
    db: DbOption = None,
) -> None:
    """Execute the current plan (or a saved one), tracking Neon's operations to the end."""
    with handled():
        runtime = Runtime.load(config_path)
        if not runtime.config.remediation.enabled:
            raise RemediationDisabled()
        if not yes and not sys.stdin.isatty():
            fail(
                "apply changes resources in Neon: pass --yes to confirm when not on a terminal "
                "(run `neon-governor plan` first to see what it would do)"
            )
        chosen = _chosen(runtime.policies(policies), policy)
        state = _State()
        asyncio.run(_apply(runtime, chosen, account or [], db, plan_file, max_actions, yes, state))
    passed = state.result
    if passed is None:
        typer.echo("Nothing was applied.", err=True)
        raise typer.Exit(int(ExitCode.OK))
    if passed.reconciled:
        typer.echo("Finished after an earlier interrupted run:")
        write_output(render_outcomes(passed.reconciled), None)
    for record in passed.requested:
        typer.echo(
            f"#{record.id} awaiting approval: {record.change.get('kind')} on "
            f"{record.resource_type} {record.resource_id} (neon-governor approve {record.id})"
        )
    write_output(render_outcomes(passed.outcomes), None)
    typer.echo(_tally(passed.outcomes), err=True)
    incomplete = state.audit is not None and not state.audit.complete
    if incomplete and state.audit is not None:
        report_incomplete(state.audit.incomplete, "; nothing there was changed")
    raise typer.Exit(int(ExitCode.INCOMPLETE if passed.failed or incomplete else ExitCode.OK))


def _tally(outcomes: list[Outcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.state] = counts.get(outcome.state, 0) + 1
    if not counts:
        return "Nothing to apply."
    return "Applied: " + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))


def _chosen(loaded: list[Policy], names: list[str] | None) -> list[Policy]:
    if not names:
        return loaded
    known = {policy.name for policy in loaded}
    unknown = [name for name in names if name not in known]
    if unknown:
        fail(f"unknown policy {', '.join(unknown)}; loaded: {', '.join(sorted(known))}")
    return [policy for policy in loaded if policy.name in names]


@dataclass
class _State:
    audit: AuditResult | None = None
    plan: Plan | None = None
    result: PassResult | None = None
    notes: list[str] = field(default_factory=list)


def _scopes(accounts: list[Account]) -> list[AccountScope]:
    return [AccountScope(account.name, tuple(account.org_ids)) for account in accounts]


async def _plan(
    runtime: Runtime,
    policies: list[Policy],
    account_names: list[str],
    db: Path | None,
    max_actions: int | None,
    state: _State,
) -> None:
    async with (
        runtime.open_accounts(names=account_names) as accounts,
        await runtime.open_async_store(db) as store,
    ):
        state.audit = await _audit(runtime, accounts, store, policies, "plan")
        state.plan = await plan_for(
            state.audit,
            store=store,
            policies=policies,
            settings=runtime.config.remediation,
            now=runtime.clock(),
            accounts=_scopes(accounts),
            max_actions=max_actions,
        )


async def _audit(
    runtime: Runtime,
    accounts: list[Account],
    store: AsyncStore,
    policies: list[Policy],
    trigger: str,
) -> AuditResult:
    return await run_audit(
        accounts=accounts,
        store=store,
        policies=policies,
        prices=runtime.config.prices,
        clock=runtime.clock,
        concurrency=runtime.config.neon.concurrency,
        trigger=trigger,
    )


async def _apply(
    runtime: Runtime,
    policies: list[Policy],
    account_names: list[str],
    db: Path | None,
    plan_file: Path | None,
    max_actions: int | None,
    yes: bool,
    state: _State,
) -> None:
    settings = runtime.config.remediation
    async with (
        runtime.open_accounts(names=account_names) as accounts,
        await runtime.open_async_store(db) as store,
    ):
        executor = Executor(
            store=store,
            clients={account.name: account.client for account in accounts},
            policies={policy.name: policy for policy in policies},
            settings=settings,
            clock=runtime.clock,
            actor=actor(),
            report=_progress,
        )
        reconciled = await reconcile_unfinished(executor)
        plan_hash = None
        run_id = None
        if plan_file is not None:
            planned, plan_hash = read_plan(plan_file, now=runtime.clock())
        else:
            state.audit = await _audit(runtime, accounts, store, policies, "apply")
            run_id = state.audit.run_id
            planned = await plan_for(
                state.audit,
                store=store,
                policies=policies,
                settings=settings,
                now=runtime.clock(),
                accounts=_scopes(accounts),
                max_actions=max_actions,
            )
        state.plan = planned
        if not _confirmed(planned, yes):
            return
        result = await apply_plan(
            planned,
            executor=executor,
            run_id=run_id,
            plan_hash=plan_hash,
            max_actions=max_actions if plan_file is not None else None,
        )
        result.reconciled = reconciled
        state.result = result


def _progress(outcome: Outcome) -> None:
    typer.echo(f"  #{outcome.remediation_id} {outcome.state}: {outcome.resource}", err=True)


def _confirmed(planned: Plan, yes: bool) -> bool:
    if not planned.actionable and not any(i.status == "needs_approval" for i in planned.items):
        typer.echo(plan_summary(planned) + " — nothing to apply.", err=True)
        return True
    if yes:
        return True
    typer.echo(render_plan_table(planned, width=output_width(), color=stdout_is_terminal()))
    return typer.confirm(f"Apply {len(planned.actionable)} change(s) to Neon?", default=False)
