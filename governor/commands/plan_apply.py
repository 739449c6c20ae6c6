"""`neon-governor plan` and `apply`: what would be done, and doing exactly that.

``plan`` sweeps, records the run and prints, one row per resource, what ``apply`` would
send now and why not for the rest; ``--out`` saves it, and the store keeps its hash and
expiry (``apply --plan`` runs only a plan this store wrote, unedited, before it expires).
``apply`` refuses unless ``[remediation] enabled = true``; it finishes what an earlier
killed run left, then executes the current plan or exactly the saved one. While
remediation is paused, ``apply`` sends and asks nothing and says how many changes are
held (exit 0: a pause is a person's decision, not a failure). Exit codes: 0 done (or
paused); 2 refused (not enabled, bad or unknown plan file, --out not writable, no --yes
when piped); 3 the sweep was incomplete or a remediation failed.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from governor.commands.audit import flush_outbox, slack_for_audit
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
from governor.pipeline.results import AuditResult
from governor.policy import Policy
from governor.remediate.cycle import PassResult, apply_plan, plan_for
from governor.remediate.errors import RemediationDisabled
from governor.remediate.execute import Outcome
from governor.remediate.plan import Plan, PlanItem
from governor.remediate.planfile import (
    check_writable,
    load_plan,
    plan_document,
    record_plan,
    write_document,
)
from governor.remediate.reconcile import reconcile
from governor.remediate.render import plan_summary, render_outcomes, render_plan_table
from governor.report.text import printable
from governor.runtime import Runtime
from governor.store import Store, remediations
from governor.store.remediations import SwitchRecord
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
        Path | None,
        typer.Option(
            "--out",
            help="Save the plan for apply --plan (the store keeps its hash and expiry; "
            "the folder must exist).",
        ),
    ] = None,
    max_actions: Annotated[
        int | None, typer.Option("--max", min=0, help="Cap the actions of this run.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Print exactly what apply would do now, one row per resource, and why not for the rest.

    Approval requests are created by `apply`, not by `plan`: an item that needs approval
    gets its id (for `neon-governor approve ID`) when `apply` asks for it.
    """
    if output_format not in ("table", "json"):
        fail(f"--format must be table or json, not {output_format!r}")
    with handled():
        if out is not None:
            check_writable(out)  # before the sweep: a run is recorded only for a plan kept
        runtime = Runtime.load(config_path)
        chosen = _chosen(runtime.policies(policies), policy)
        state = _State()
        keep = out is not None or output_format == "json"
        asyncio.run(_plan(runtime, chosen, account or [], db, max_actions, keep, state))
        result, planned, document = state.audit, state.plan, state.document
        assert result is not None
        assert planned is not None
        if out is not None:
            assert document is not None
            write_document(document, out)
            expires = datetime.fromisoformat(str(document["expires_at"]))
            typer.echo(
                f"Plan saved to {out} (sha256 {str(document['sha256'])[:16]}, expires "
                f"{expires.isoformat(timespec='seconds')}); apply it with: "
                f"neon-governor apply --plan {out}",
                err=True,
            )
    if output_format == "json":
        assert document is not None
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
    """Execute the current plan (or a saved one), tracking Neon's operations to the end.

    On a terminal it asks first, restating the changes right above the question. While
    remediation is paused it sends and asks nothing, prints `paused: N change(s) held
    (neon-governor resume)` and exits 0. A saved plan runs only if this store wrote it,
    unedited, before it expires, and each change is still what its policies propose.
    """
    with handled():
        runtime = Runtime.load(config_path)
        if not runtime.config.remediation.enabled:
            raise RemediationDisabled()
        if not yes and not sys.stdin.isatty():
            fail(
                "apply changes resources in Neon: pass --yes to confirm when not on a terminal "
                "(run `neon-governor plan` first to see what it would do)"
            )
        loaded = runtime.policies(policies)
        chosen = _chosen(loaded, policy)
        state = _State()
        run = _ApplyRun(runtime, chosen, loaded, account or [], db, plan_file, max_actions, yes)
        asyncio.run(_apply(run, state))
    if state.paused is not None and state.plan is not None:
        _say_held(state.plan, state.paused, state.result)
        raise typer.Exit(int(ExitCode.OK))
    passed = state.result
    if passed is None:
        typer.echo("Nothing was applied.", err=True)
        raise typer.Exit(int(ExitCode.OK))
    earlier = _say_reconciled(passed.reconciled)
    if earlier and (passed.requested or passed.outcomes):
        typer.echo("This run:")
    for record in passed.requested:
        typer.echo(
            f"#{record.id} awaiting approval: {record.change.kind} on "
            f"{record.resource_type} {record.resource_id} (neon-governor approve {record.id})"
        )
    write_output(render_outcomes(passed.outcomes), None)
    typer.echo(_tally(passed.outcomes), err=True)
    incomplete = state.audit is not None and not state.audit.complete
    if incomplete and state.audit is not None:
        report_incomplete(state.audit.incomplete, "; nothing there was changed")
    raise typer.Exit(int(ExitCode.INCOMPLETE if passed.failed or incomplete else ExitCode.OK))


def _say_reconciled(reconciled: list[Outcome]) -> bool:
    """What reconcile finished, then what it left to a live process, each under its own
    header (a row another process is still sending is not "finished"); True if it printed."""
    finished = [outcome for outcome in reconciled if outcome.left_to is None]
    left = [outcome for outcome in reconciled if outcome.left_to is not None]
    if finished:
        typer.echo("Finished after an earlier interrupted run:")
        write_output(render_outcomes(finished), None)
    if left:
        typer.echo("Left to the process that holds it:")
        for outcome in left:
            typer.echo(
                printable(
                    f"#{outcome.remediation_id} left to {outcome.left_to}: still under way "
                    f"({outcome.change} on {outcome.resource})"
                )
            )
    return bool(reconciled)


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


def _say_held(planned: Plan, paused: SwitchRecord, passed: PassResult | None) -> None:
    """While paused: what is held, and how to lift it (not "Nothing to apply")."""
    held = len(planned.actionable)
    asking = sum(1 for item in planned.items if item.status == "needs_approval")
    if passed is not None:
        earlier = _say_reconciled(passed.reconciled)
        if earlier and passed.outcomes:
            typer.echo("This run:")
        write_output(render_outcomes(passed.outcomes), None)
    why = f" ({paused.reason})" if paused.reason else ""
    asked = f", {asking} approval request(s) not asked" if asking else ""
    typer.echo(
        printable(
            f"paused: {held} change(s) held{asked}; paused by {paused.set_by} at "
            f"{paused.set_at[:16]}{why} (neon-governor resume)"
        ),
        err=True,
    )


@dataclass
class _State:
    audit: AuditResult | None = None
    plan: Plan | None = None
    document: dict[str, Any] | None = None  # plan --out / --format json: as kept
    result: PassResult | None = None
    paused: SwitchRecord | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _ApplyRun:
    runtime: Runtime
    policies: list[Policy]  # what the executor acts for (--policy)
    loaded: list[Policy]  # every loaded policy: what a saved plan is checked against
    account_names: list[str]
    db: Path | None
    plan_file: Path | None
    max_actions: int | None
    yes: bool


async def _plan(
    runtime: Runtime,
    policies: list[Policy],
    account_names: list[str],
    db: Path | None,
    max_actions: int | None,
    keep: bool,
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
            accounts=accounts,
            max_actions=max_actions,
        )
        if keep:  # the store keeps the hash and expiry: only then may apply --plan run it
            state.document = plan_document(state.plan, ttl=runtime.config.remediation.plan_ttl)
            await record_plan(state.document, store=store, run_id=state.audit.run_id, actor=actor())


async def _audit(
    runtime: Runtime,
    accounts: list[Account],
    store: Store,
    policies: list[Policy],
    trigger: str,
) -> AuditResult:
    return await runtime.audit(accounts, store, policies, trigger=trigger)


async def _apply(run: _ApplyRun, state: _State) -> None:
    runtime, policies, plan_file = run.runtime, run.policies, run.plan_file
    max_actions = run.max_actions
    settings = runtime.config.remediation
    async with (
        runtime.open_accounts(names=run.account_names) as accounts,
        await runtime.open_async_store(run.db) as store,
    ):
        executor = runtime.executor(
            accounts, store, actor=actor(), policies=policies, report=_progress
        )
        reconciled = await reconcile(executor)
        plan_hash = None
        run_id = None
        if plan_file is not None:
            saved = await load_plan(
                plan_file,
                store=store,
                policies={policy.name: policy for policy in run.loaded},
                now=runtime.clock(),
            )
            planned, plan_hash, run_id = saved.plan, saved.sha256, saved.run_id
        else:
            state.audit = await _audit(runtime, accounts, store, policies, "apply")
            run_id = state.audit.run_id
            planned = await plan_for(
                state.audit,
                store=store,
                policies=policies,
                settings=settings,
                now=runtime.clock(),
                accounts=accounts,
                max_actions=max_actions,
            )
        state.plan = planned
        cap = max_actions if plan_file is not None else None
        state.paused = await store.run(remediations.paused)
        if state.paused is not None:  # a pause holds everything: nothing sent, nothing asked
            state.result = PassResult(planned, reconciled=reconciled)
            return
        if not _confirmed(planned, run.yes, cap):
            return
        slack = slack_for_audit(runtime, store, accounts)
        # the log, Slack, webhook, email and Teams, as set up
        channels = runtime.channels(slack, interactive=True, store=store)
        result = await apply_plan(
            planned,
            executor=executor,
            run_id=run_id,
            plan_hash=plan_hash,
            max_actions=cap,
            announce=channels.notices(policies),
        )
        await channels.request(result.requested)
        await channels.outcomes(result.outcomes)
        if slack is not None:
            await flush_outbox(slack)
        from governor.channels.outbox import flush_deliveries  # webhook, email, Teams

        await flush_deliveries(runtime.delivery_sender(store))
        result.reconciled = reconciled
        state.result = result
        if not result.outcomes and planned.actionable:
            state.paused = await store.run(remediations.paused)  # paused while this one ran


def _progress(outcome: Outcome) -> None:
    typer.echo(f"  #{outcome.remediation_id} {outcome.state}: {outcome.resource}", err=True)


def _confirmed(planned: Plan, yes: bool, cap: int | None = None) -> bool:
    acting = planned.actionable if cap is None else planned.actionable[:cap]
    asking = [item for item in planned.items if item.status == "needs_approval"]
    if not acting and not asking:
        typer.echo(plan_summary(planned) + " — nothing to apply.", err=True)
        return True
    if yes:
        return True
    typer.echo(render_plan_table(planned, width=output_width(), color=stdout_is_terminal()))
    typer.echo(restated(acting, asking))
    return typer.confirm(f"Apply {len(acting)} change(s) to Neon?", default=False)


def restated(acting: list[PlanItem], asking: list[PlanItem]) -> str:
    """The changes that will act, right above the question (the table scrolled them off)."""
    lines = ["", f"These {len(acting)} change(s) will be sent to Neon:"]
    for number, item in enumerate(acting, start=1):
        flags = [
            name
            for name, on in (("disruptive", item.disruptive), ("irreversible", item.irreversible))
            if on
        ]
        lines.append(
            printable(
                f"  {number}. {item.resource_type} {item.name} ({item.resource_id}): "
                f"{item.request}" + (f" [{', '.join(flags)}]" if flags else "")
            )
        )
    if not acting:
        lines.append("  (none)")
    if asking:
        lines.append(
            f"and {len(asking)} approval request(s) will be created "
            "(neon-governor approve ID, with the ids apply prints)"
        )
    return "\n".join(lines)
