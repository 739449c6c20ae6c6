"""`remediations`, `approve`, `reject`, `keep`, `revert`, `pause`, `resume`: people's decisions.

All but ``revert`` only read or write the store (no Neon call); ``pause`` takes effect
before the next mutation of any running ``apply`` or daemon, with no restart or reload.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from governor.commands.common import (
    ConfigOption,
    DbOption,
    fail,
    handled,
    write_output,
)
from governor.commands.plan_apply import actor
from governor.exit_codes import ExitCode
from governor.model.changes import moves_text
from governor.remediate import decisions
from governor.remediate.errors import RemediationDisabled, RemediationError
from governor.remediate.execute import Outcome
from governor.remediate.render import remediation_json, render_outcomes
from governor.report.text import printable
from governor.runtime import Runtime
from governor.store import Store
from governor.store import realized as realized_rows
from governor.store import remediations as remediation_rows
from governor.store import resources as resource_rows
from governor.store.realized import RealizedRecord
from governor.store.records import StoredResource
from governor.store.remediations import ACTIVE_STATES, TERMINAL_STATES, RemediationRecord

STATES = (*ACTIVE_STATES, *TERMINAL_STATES)


remediations_app = typer.Typer(
    name="remediations",
    help="List remediations and where each one stands; `remediations show ID` for one.",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(remediations_app, name="remediations")
    app.command("approve")(approve)
    app.command("reject")(reject)
    app.command("keep")(keep)
    app.command("revert")(revert)
    app.command("pause")(pause)
    app.command("resume")(resume)


@remediations_app.callback()
def remediations(
    ctx: typer.Context,
    config_path: ConfigOption = None,
    state: Annotated[
        list[str] | None,
        typer.Option("--state", help=f"Only these states (repeatable): {', '.join(STATES)}."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    db: DbOption = None,
) -> None:
    """List remediations and where each one stands: what changes (before → after) and why."""
    if ctx.invoked_subcommand is not None:
        return
    unknown = [name for name in state or [] if name not in STATES]
    if unknown:
        fail(f"unknown state {', '.join(unknown)}; states: {', '.join(STATES)}")
    if output_format not in ("table", "json"):
        fail(f"--format must be table or json, not {output_format!r}")
    with handled():
        runtime = Runtime.load(config_path)
        _require_store(runtime, db)
        with runtime.open_store(db) as store:
            records = store.call(remediation_rows.listed, states=state or ())
            names = _project_names(store.call(resource_rows.listed, "project", include_gone=True))
            kept = store.call(realized_rows.listed)
    if output_format == "json":
        listed = [remediation_json(r) | {"realized": _realized_json(kept, r.id)} for r in records]
        document = {"remediations": listed}
        write_output(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", None)
    else:
        write_output(remediations_table(records, names, kept), None)


@remediations_app.command("show")
def show(
    remediation_id: Annotated[int, typer.Argument(help="The remediation to show.")],
    config_path: ConfigOption = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    db: DbOption = None,
) -> None:
    """Everything about one remediation: the change, before → after, who decided, the outcome."""
    if output_format not in ("text", "json"):
        fail(f"--format must be text or json, not {output_format!r}")
    with handled():
        runtime = Runtime.load(config_path)
        _require_store(runtime, db)
        with runtime.open_store(db) as store:
            record = store.call(remediation_rows.get, remediation_id)
            reverts = [r for r in store.call(remediation_rows.listed) if r.reverts_id == record.id]
            names = _project_names(store.call(resource_rows.listed, "project", include_gone=True))
            kept = store.call(realized_rows.listed, [record.id])
    if output_format == "json":
        document = remediation_json(record) | {"reverted_by": [r.id for r in reverts]}
        document["realized"] = _realized_json(kept, record.id)
        write_output(json.dumps(document, indent=2, ensure_ascii=False, default=str) + "\n", None)
        return
    write_output(describe_remediation(record, names, reverts, kept.get(record.id)), None)


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
    typer.echo(
        printable(
            f"#{record.id} approved by {record.decided_by}: {_subject(record)}: "
            f"{change_text(record)}{_estimate(record)}; the next apply runs it."
        )
    )


def reject(
    remediation_id: Annotated[int, typer.Argument(help="The remediation to reject.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (goes to the audit log).")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DURATION|DATE",
            help=(
                "Keep the resource exempt until then (30d, 2w, 2026-12-31, 2026-12-31T18:00Z), "
                "even if its evidence changes; the plan acts on it again after. Without it, "
                "the no holds until the evidence changes."
            ),
        ),
    ] = None,
    config_path: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Reject a remediation awaiting approval (or withdraw an approval not yet acted on)."""
    ends: list[datetime] = []

    async def decide(store: Store, now: datetime) -> RemediationRecord:
        end = None if until is None else decisions.parse_until(until, now=now)
        ends.extend([end] if end is not None else [])
        return await decisions.reject(
            store, remediation_id, actor=actor(), reason=reason, now=now, until=end
        )

    record = _decide(config_path, db, decide)
    if record.state == "rejected":
        text = f"#{record.id} {record.reason}"  # "#3 rejected by cli:root: ..."
    else:
        text = f"#{record.id} {record.state}: {record.reason}"
    if ends:
        text += (
            f"; {record.resource_type} {record.resource_id} is exempt until "
            f"{ends[0].isoformat(timespec='minutes')} (acted on again after that)"
        )
    typer.echo(printable(text))


def keep(
    resource_type: Annotated[
        str, typer.Argument(help="What to keep: branch, endpoint, project, api_key.")
    ],
    resource_id: Annotated[str, typer.Argument(help="Its Neon id (br-..., ep-..., ...).")],
    for_: Annotated[
        str,
        typer.Option(
            "--for",
            metavar="DURATION|DATE",
            help="How long (30d, 2w) or until when (2026-12-31, 2026-12-31T18:00Z).",
        ),
    ],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (goes to the audit log).")
    ] = None,
    config_path: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Leave a resource as it is: turn down its pending request, and exempt it until then.

    A branch with its own expiry gets Neon's expiry moved later instead (when remediation
    is enabled), under the key of the account whose sweep read it: the same as Slack's Keep.
    """
    kept: list[decisions.Kept] = []
    with handled():
        runtime = Runtime.load(config_path)
        _require_store(runtime, db)
        asyncio.run(_keep(runtime, db, resource_type, resource_id, for_, reason, kept))
    typer.echo(printable(kept[0].text))
    if kept[0].ended is not None:
        typer.echo(printable(f"#{kept[0].ended.id} {kept[0].ended.reason}"))
    moved = kept[0].moved
    if moved is not None and moved.state != "succeeded":
        raise typer.Exit(int(ExitCode.INCOMPLETE))


async def _keep(
    runtime: Runtime,
    db: Path | None,
    resource_type: str,
    resource_id: str,
    for_: str,
    reason: str | None,
    kept: list[decisions.Kept],
) -> None:
    now = runtime.clock()
    until = decisions.parse_until(for_, now=now, flag="--for")
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(await runtime.open_async_store(db))
        executor = None
        if runtime.config.remediation.enabled:  # moving Neon's own expiry is a mutation
            accounts = await stack.enter_async_context(runtime.open_accounts())
            executor = runtime.executor(accounts, store, actor=actor())
        kept.append(
            await decisions.keep(
                store,
                resource_type,
                resource_id,
                until=until,
                actor=actor(),
                reason=reason,
                now=now,
                executor=executor,
            )
        )


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
            original = store.call(remediation_rows.get, remediation_id)
            refused = decisions.revert_refusal(original, store.call(remediation_rows.listed))
        if refused is not None:
            raise RemediationError(refused)
        if not yes and not sys.stdin.isatty():
            fail(
                "revert changes resources in Neon: pass --yes to confirm when not on a terminal "
                f"(it would set {_subject(original)}: {revert_text(original)})"
            )
        question = printable(f"Revert #{original.id} on {_subject(original)}: ") + (
            f"{printable(revert_text(original))}?"
        )
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
        executor = runtime.executor(accounts, store, actor=actor())
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


# How a remediation reads for people ----------------------------------------------------


def change_text(record: RemediationRecord) -> str:
    """``field before → after`` for what the remediation changes (or changed)."""
    return moves_text(record.change, record.before)


def revert_text(record: RemediationRecord) -> str:
    """What a revert of ``record`` sets: its ``after`` back to its ``before``."""
    return moves_text(record.change.restoring(record.before), record.after)


def _subject(record: RemediationRecord, names: Mapping[str, str] | None = None) -> str:
    """``endpoint name (id)`` — the id once when it is the name — and its project's name."""
    text = f"{record.resource_type} {record.resource_name}"
    if record.resource_name != record.resource_id:
        text += f" ({record.resource_id})"
    project = (names or {}).get(record.project_id or "")
    if project:
        text += f" in project {project}"
    return text


def _estimate(record: RemediationRecord) -> str:
    if record.estimate_usd is None:
        return ""
    return f" (about ${record.estimate_usd:,.2f}/month)"


def _project_names(resources: Iterable[StoredResource]) -> dict[str, str]:
    return {r.resource_id: r.name for r in resources if r.name and r.name != r.resource_id}


def remediations_table(
    records: Sequence[RemediationRecord],
    names: Mapping[str, str],
    kept: Mapping[int, RealizedRecord] | None = None,
) -> str:
    """One line per remediation in aligned columns; nothing is ever wrapped (a terminal
    wraps a long line, a pipe keeps it whole), so ids stay whole and greppable."""
    if not records:
        return "No remediations.\n"
    header = (
        "id", "state", "resource", "project", "before → after", "$/month", "realized", "policy"
    )  # fmt: skip
    lines = [header]
    for record in records:
        lines.append(
            (
                str(record.id),
                record.state,
                _subject(record),
                names.get(record.project_id or "", record.project_id or "-"),
                change_text(record) or "-",
                "-" if record.estimate_usd is None else f"{record.estimate_usd:,.2f}",
                realized_cell((kept or {}).get(record.id)),
                record.policy,
            )
        )
    rows = [tuple(printable(cell) for cell in line) for line in lines]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    out = []
    for number, row in enumerate(rows):
        cells = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        reason = "why / outcome" if number == 0 else _reason(records[number - 1])
        out.append(f"{cells}  {printable(reason)}".rstrip())
    return "\n".join(out) + "\n"


def realized_cell(row: RealizedRecord | None) -> str:
    """The realized saving in a table cell: dollars when measured (``drift`` flagged), else
    where the measurement stands; "-" when nothing is metered (keys, reverts, older rows)."""
    if row is None:
        return "-"
    if row.status != "measured" or row.realized_monthly_usd is None:
        return row.status
    return f"{row.realized_monthly_usd:,.2f}" + (" drift" if row.drifted else "")


def _realized_json(kept: Mapping[int, RealizedRecord], remediation_id: int) -> object:
    row = kept.get(remediation_id)
    return None if row is None else row.as_json()


def _reason(record: RemediationRecord) -> str:
    return record.reason or record.error or ""


def describe_remediation(
    record: RemediationRecord,
    names: Mapping[str, str],
    reverts: Sequence[RemediationRecord] = (),
    realized: RealizedRecord | None = None,
) -> str:
    """``remediations show``: one remediation, labelled lines."""
    change_kind = record.change.kind
    flags = [
        f
        for f, on in (("disruptive", record.disruptive), ("irreversible", record.irreversible))
        if on
    ]
    lines = [
        ("remediation", f"#{record.id} {record.state}"),
        ("resource", _subject(record, names)),
        ("organization", record.org_id or "-"),
        ("policy", f"{record.policy} (mode {record.mode})"),
        ("change", change_kind + (f" ({', '.join(flags)})" if flags else "")),
        ("request", _request(record)),
        ("before → after", change_text(record) or "-"),
        ("estimate", "-" if record.estimate_usd is None else f"${record.estimate_usd:,.2f}/month"),
        ("realized", "-" if realized is None else f"{realized_cell(realized)}: {realized.note}"),
        ("why", record.why),
        ("reason", record.reason or "-"),
    ]
    if record.error:
        lines.append(("error", record.error))
    if record.decided_by:
        lines.append(("decided", f"by {record.decided_by} at {record.decided_at}"))
    if record.approval_expires_at and record.state == "awaiting_approval":
        lines.append(("approval expires", record.approval_expires_at))
    lines.append(("created", record.created_at))
    lines.append(("updated", record.updated_at))
    if record.finished_at:
        lines.append(("finished", record.finished_at))
    if record.recoverable_until:
        lines.append(("recoverable until", record.recoverable_until))
    if record.reverts_id is not None:
        lines.append(("reverts", f"#{record.reverts_id}"))
    if reverts:
        lines.append(("reverted by", ", ".join(f"#{r.id} ({r.state})" for r in reverts)))
    for operation in record.operations:
        lines.append(
            (
                "operation",
                f"{operation.get('id')} {operation.get('action')} {operation.get('status')}",
            )
        )
    width = max(len(label) for label, _ in lines)
    return "".join(printable(f"{label.ljust(width)}  {value}") + "\n" for label, value in lines)


def _request(record: RemediationRecord) -> str:
    return record.change.request(
        project_id=record.project_id, resource_id=record.resource_id, org_id=record.org_id
    )
