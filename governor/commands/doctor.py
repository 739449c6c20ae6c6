"""`neon-governor doctor`: check a setup end to end and say what to fix, one line per check.

Exit codes, doctor's own: 0 every check passed or was skipped, 1 at least one FAIL; 2 (via
``handled()``) when the config cannot even be loaded. Each line is ``ok``, ``FAIL`` or
``skip``, the check, what was found, and for a FAIL a hint. Keys are never printed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import typer

from governor.commands.common import ConfigOption, handled
from governor.diagnose.doctor import (
    Check,
    config_checks,
    credentials_check,
    policy_check,
    store_check,
)
from governor.diagnose.key_checks import check_account
from governor.diagnose.slack_checks import slack_checks
from governor.exit_codes import ExitCode
from governor.report.text import printable
from governor.runtime import Runtime

DOCTOR_FAILED = ExitCode.FINDINGS  # 1: something to fix, like audit's "findings"


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(config_path: ConfigOption = None) -> None:
    """Check the config, keys, scopes, organizations, store, policies and Slack; say what to fix."""
    with handled():
        runtime = Runtime.load(config_path)
    checks = run_checks(runtime)
    typer.echo(render_checks(checks), nl=False)
    raise typer.Exit(int(DOCTOR_FAILED if any(c.failed for c in checks) else ExitCode.OK))


def run_checks(runtime: Runtime, transport: httpx.AsyncBaseTransport | None = None) -> list[Check]:
    accounts = runtime.config.effective_accounts()
    checks = config_checks(runtime)
    holder: list[list[Check]] = []
    asyncio.run(_accounts(runtime, transport, holder))
    for account_checks in holder:
        checks.extend(account_checks)
    checks.extend([store_check(runtime), policy_check(runtime)])
    checks.extend(asyncio.run(slack_checks(runtime.config.slack)))
    checks.append(credentials_check(accounts))
    return checks


async def _accounts(
    runtime: Runtime, transport: httpx.AsyncBaseTransport | None, holder: list[list[Check]]
) -> None:
    accounts = runtime.config.effective_accounts()
    holder.extend(await asyncio.gather(*(check_account(runtime, a, transport) for a in accounts)))


def render_checks(checks: Sequence[Check]) -> str:
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        line = f"{check.state:<4}  {check.name:<{width}}  {printable(check.detail)}"
        if check.hint:
            line += f"\n      {'':<{width}}  fix: {printable(check.hint)}"
        lines.append(line)
    failures = sum(check.failed for check in checks)
    lines.append("")
    lines.append(f"{failures} check(s) failed" if failures else "all checks passed")
    return "\n".join(lines) + "\n"
