"""`neon-governor run`: the long-running daemon (governor/daemon), or one pass with --once.

Exit codes: 0 stopped by SIGTERM/SIGINT (or, with --once, every due job succeeded); 2 a
config, policy, key or store problem, another daemon holding the store included; 3 with
--once, a due job's sweep was incomplete or failed.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated

import typer

from governor.commands.common import ConfigOption, handled
from governor.daemon import Daemon
from governor.exit_codes import ExitCode
from governor.observability.logs import configure_logging
from governor.runtime import Runtime
from governor.secrets import SecretError


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    config_path: ConfigOption = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option(
            "--log-format", help="Log lines on stderr (default: the config's log.format)."
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run every due job once, then exit (tests, cron).")
    ] = False,
) -> None:
    """Run the scheduler: each policy's schedule, metrics, systemd notify, SIGHUP reload."""
    with handled():
        runtime = Runtime.load(config_path)
        log = runtime.config.log
        fmt = log_format.value if log_format is not None else log.format
        configure_logging(fmt, log.level, secrets=known_secrets(runtime))
        runtime.prepare_store_folder()  # the daemon's lock file lives beside the store
        holder: list[ExitCode] = []
        # asyncio.run repr()s a returned value on 3.11/3.12 debug paths: return nothing.
        asyncio.run(_serve(Daemon(runtime), once, holder))
    raise typer.Exit(int(holder[0]))


async def _serve(daemon: Daemon, once: bool, holder: list[ExitCode]) -> None:
    holder.append(await daemon.run(once=once))


def known_secrets(runtime: Runtime) -> list[str]:
    """The API keys, so that no log line can carry one (missing keys fail later, clearly)."""
    found = []
    for account in runtime.account_settings():
        try:
            found.append(runtime.read_key(account))
        except SecretError:
            continue
    return found
