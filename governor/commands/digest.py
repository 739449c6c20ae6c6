"""`neon-governor digest`: each owner's digest now, as the daemon's ``digest`` job sends it.

``--dry-run`` prints what each owner would get and records nothing; otherwise the digests
are sent (an owner with nothing new or resolved is skipped unless it is their first or
``digest_when_empty``), recorded, and the outboxes flushed with a deadline. Exit 0; 2 for
a setup problem (no owners, an unknown ``--owner``, no store); 1 when an owner's digest
could not be queued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from governor.channels import DeliverySender
from governor.channels import configured as channels_configured
from governor.commands.audit import flush_outbox, slack_for_audit
from governor.commands.common import ConfigOption, DbOption, counted, fail, handled, write_output
from governor.digest.send import (
    DigestOutcome,
    Owner,
    outcome_counts,
    owners_for_runtime,
    send_digests,
)
from governor.exit_codes import ExitCode
from governor.notify.documents import Digest
from governor.report.text import printable
from governor.runtime import Runtime
from governor.store import Store

FLUSH_DEADLINE_SECONDS = 30.0


def register(app: typer.Typer) -> None:
    app.command("digest")(digest)


def digest(
    config_path: ConfigOption = None,
    db: DbOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what each owner would get; send nothing.")
    ] = False,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this owner (a name from [owners]).")
    ] = None,
) -> None:
    """Compose each owner's digest of their findings and send it (print it with --dry-run).

    Owners come from [owners]; findings no rule matched go to its default owner.
    """
    with handled():
        runtime = Runtime.load(config_path)
        owners, default = owners_for_runtime(runtime, only=owner)
        if owner is not None and not owners:
            known = [each.name for each in owners_for_runtime(runtime)[0]]
            fail(
                f"--owner {owner}: no such owner in [owners] (known: {', '.join(known) or 'none'})"
            )
        if not owners:
            fail("no owners set up: add [[owners.owner]] entries (and [owners] default)")
        path = runtime.store_path(db)
        if not path.is_file():
            fail(f"no store at {path}: run an audit or the daemon first")
        outcomes = asyncio.run(_run(runtime, db, owners, default, dry_run=dry_run))
    write_output(render(outcomes), None)
    if any(outcome.verdict == "failed" for outcome in outcomes):
        raise typer.Exit(int(ExitCode.FINDINGS))


class _Nowhere:
    """A dry run's channel: receives nothing (``send_digests`` does not call it then)."""

    async def digest(self, digest: Digest) -> list[str]:
        _ = digest
        return []


async def _run(
    runtime: Runtime,
    db: Path | None,
    owners: Sequence[Owner],
    default: str | None,
    *,
    dry_run: bool,
) -> list[DigestOutcome]:
    async with await runtime.open_async_store(db) as store:
        now = runtime.clock()
        top = runtime.config.digest.top
        if dry_run:
            return await send_digests(
                store,
                _Nowhere(),
                owners,
                default=default,
                now=now,
                top=top,
                dry_run=True,
            )
        slack = slack_for_audit(runtime, store, [])
        channels = runtime.channels(slack, interactive=True, store=store)  # Slack or not
        outcomes = await send_digests(
            store,
            channels,
            owners,
            default=default,
            now=now,
            top=top,
        )
        if slack is not None:
            await flush_outbox(slack, FLUSH_DEADLINE_SECONDS)
        await _flush_deliveries(runtime, store)
        return outcomes


async def _flush_deliveries(runtime: Runtime, store: Store) -> None:
    """Send what went to the webhook, email and Teams outbox, within the deadline; what is
    left waits there for the next command or the daemon."""
    if not channels_configured(runtime.config):
        return
    sender = DeliverySender(
        runtime.config,
        store,
        runtime.clock,
        config_dir=runtime.config_dir,
        contacts=runtime.owner_map().contact,
    )
    try:
        if not await sender.flush(deadline_seconds=FLUSH_DEADLINE_SECONDS):
            typer.echo(
                "neon-governor: some webhook, email or Teams deliveries did not go out in "
                "time; they wait in the store and go out with the daemon",
                err=True,
            )
    finally:
        await sender.aclose()


def render(outcomes: Sequence[DigestOutcome]) -> str:
    """Per owner: the verdict, the numbers, and the listed findings (names escaped)."""
    lines: list[str] = []
    for outcome in outcomes:
        d = outcome.digest
        where = f" to {', '.join(outcome.channels)}" if outcome.channels else ""
        lines.append(
            f"{printable(outcome.owner)}: {outcome.verdict}{where} · "
            f"{counted(d.open_count, 'open finding')}, ~${d.total_usd:,.2f}/month · "
            f"{d.new_count} new, {d.resolved_count} resolved"
            + (f" since {d.since[:10]}" if d.since else " (first digest)")
        )
        if outcome.error:
            lines.append(f"  error: {printable(outcome.error)}")
        if outcome.verdict not in ("sent", "would send"):
            continue
        for item in d.items:
            money = "-" if item.usd is None else f"${item.usd:,.2f}"
            lines.append(
                f"  {item.status:<8} {money:>11}  {printable(item.policy)}  "
                f"{printable(item.resource_type)} {printable(item.name)} "
                f"({printable(item.resource_id)})"
            )
        if d.truncated:
            lines.append(f"  +{d.truncated} more")
    counts = outcome_counts(outcomes)
    lines.append(", ".join(f"{count} {verdict}" for verdict, count in counts.items()))
    return "\n".join(lines) + "\n"
