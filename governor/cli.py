"""The ``neon-governor`` command: wiring only. Each command lives in governor/commands/."""

from __future__ import annotations

import io
import sys
from typing import Any

import typer
from typer.core import TyperOption

from governor import __version__
from governor.commands import (
    audit,
    config_check,
    costs,
    decisions,
    demo,
    doctor,
    findings,
    inventory,
    plan_apply,
    policies,
    run,
    simulate,
    status,
)
from governor.commands.common import PlainErrorsGroup


def _flag_type(option: TyperOption, ctx: Any) -> str | None:  # typer's own click Context
    """A flag takes no value: no ``<bool>`` after ``--version`` in ``--help``."""
    return None if option.is_flag else _option_type(option, ctx)


# typer 0.29 prints every option's type, flags included; the one switch it offers is
# per option (metavar=""), which every command would have to remember.
_option_type = TyperOption.display_type_rich
setattr(TyperOption, "display_type_rich", _flag_type)  # noqa: B010 (a method swap mypy refuses)

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
    costs,
    demo,
    plan_apply,
    decisions,
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
