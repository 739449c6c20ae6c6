"""The ``neon-governor`` command: wiring only. Each command lives in governor/commands/."""

from __future__ import annotations

import io
import sys

import typer

from governor import __version__
from governor.commands import (
    audit,
    config_check,
    demo,
    doctor,
    findings,
    inventory,
    policies,
    remediation,
    remediations,
    run,
    simulate,
    status,
)
from governor.commands.common import PlainErrorsGroup

app = typer.Typer(
    cls=PlainErrorsGroup,
    name="neon-governor",
    help="Cost and idle governance for Neon: sweep, policies, findings, remediation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"neon-governor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Cost and idle governance for Neon."""


for module in (
    simulate,
    inventory,
    policies,
    audit,
    findings,
    demo,
    remediation,
    remediations,
    run,
    status,
    doctor,
    config_check,
):
    module.register(app)


def main() -> None:
    # A terminal or pipe that cannot show a character (PYTHONIOENCODING=ascii, a C locale)
    # gets an escape for it, not a UnicodeEncodeError after the whole audit ran.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    app()
